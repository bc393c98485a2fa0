import { Engine } from '../storage/engine';
import { invariant } from '../util/invariant';
import { decodeKeyValue, KeyValue } from './key-value';
import { MvccStore, RevisionChanges } from './kv-store';
import { parseRevisionKey, revisionKeyFloor } from './revision';
import { KeySpan, spanContains } from './tree-index';
import { toKeyString } from '../util/bytes';

export interface WatchEvent {
  type: 'PUT' | 'DELETE';
  /** For a delete: the key and the deleting revision only. */
  kv: KeyValue;
}

/** Where a watcher's events go: one consumer, such as one watch on a gRPC stream. */
export interface WatchSink {
  /**
   * Takes the events of one or more whole revisions, in order, up to `rev`; returns false when
   * the consumer is backed up, in which case it took none and is caught up later from history.
   */
  deliver(events: WatchEvent[], rev: number): boolean;
  /** Whether a backed-up consumer can take events again. */
  ready(): boolean;
  /** History the watcher needs is compacted away: the watch ends. */
  compacted(compactRev: number): void;
}

export interface WatchHandle {
  cancel(): void;
  /** Whether every event up to the flushed revision has been handed to the sink. */
  synced(): boolean;
}

/** How many revisions one catch-up read takes from history at most (etcd: 1000 per batch). */
const CATCH_UP_REVISIONS = 1000;
/** And how many bytes of keys and values, so a history of large values is read in pieces. */
const CATCH_UP_BYTES = 4 * 1024 * 1024;
/** How often watchers that fell behind are retried (etcd: every 100 ms). */
const SYNC_INTERVAL_MS = 100;

interface Watcher {
  span: KeySpan;
  /** The next revision this watcher needs. */
  nextRev: number;
  sink: WatchSink;
  canceled: boolean;
}

/**
 * etcd's watchable store: watchers that are caught up ("synced") get each write request's
 * events as it is flushed; the others ("unsynced": new watchers on past revisions, and consumers
 * that fell behind) are caught up from the revision records in the background. A slow consumer
 * never holds up apply or other watchers, and nothing is buffered for it here.
 */
export class WatchableStore {
  private readonly synced = new Set<Watcher>();
  private readonly unsynced = new Set<Watcher>();
  private syncing = false;
  /** Between replacingState() and restored(): the engine's records are another state's. */
  private replacing = false;
  /** Counts the starts and ends of state replacements: a read across one is thrown away. */
  private replacements = 0;
  /** The last catch-up pass, which close() waits for. */
  private pass: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly store: MvccStore,
    private readonly engine: Engine,
  ) {
    store.onFlushed = (groups) => this.notify(groups);
    this.timer = setInterval(() => this.syncUnsynced(), SYNC_INTERVAL_MS);
    this.timer.unref();
  }

  get watcherCount(): number {
    return this.synced.size + this.unsynced.size;
  }

  /**
   * Watches `span` from `startRev` (0: from the next revision). "Next" is after the newest applied
   * revision, flushed or not: a write answered before this watch began is not an event of it.
   */
  watch(span: KeySpan, startRev: number, sink: WatchSink): WatchHandle {
    const w: Watcher = { span, nextRev: startRev > 0 ? startRev : this.store.currentRevision + 1, sink, canceled: false };
    if (w.nextRev > this.store.flushedRev) this.synced.add(w);
    else {
      this.unsynced.add(w);
      void this.syncUnsynced();
    }
    return {
      cancel: () => {
        w.canceled = true;
        this.synced.delete(w);
        this.unsynced.delete(w);
      },
      synced: () => this.synced.has(w),
    };
  }

  /**
   * Before the engine's state is replaced (a snapshot install). Until restored(), history read
   * from the engine may be the new state's while this store still knows the old one's compaction:
   * read then, a history the new state had compacted passed as whole, and the watcher was never
   * told. So no catch-up runs meanwhile, and one that read across the change reads again after.
   */
  replacingState(): void {
    this.replacing = true;
    this.replacements++;
  }

  /** After the state was replaced (a snapshot), every watcher catches up from the new history. */
  restored(): void {
    this.replacing = false;
    this.replacements++;
    for (const w of this.synced) this.unsynced.add(w);
    this.synced.clear();
    void this.syncUnsynced();
  }

  /**
   * Cancels every watcher and waits for a catch-up read in flight, so that the engine can close
   * after: closed under the read, it failed it, and the failure went unhandled (a member exits).
   */
  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const w of [...this.synced, ...this.unsynced]) w.canceled = true;
    this.synced.clear();
    this.unsynced.clear();
    await this.pass;
  }

  private notify(groups: RevisionChanges[]): void {
    if (this.synced.size === 0) return;
    // Each change's event and key string made once, not once per watcher: a key a thousand
    // watchers share would be converted a thousand times per put.
    const changes = groups.map((g) => ({
      rev: g.rev, events: g.changes.map((kv) => toEvent(kv, g.rev)), keys: g.changes.map((kv) => toKeyString(kv.key)),
    }));
    for (const w of this.synced) {
      const events: WatchEvent[] = [];
      let last = 0;
      for (const g of changes) {
        if (g.rev < w.nextRev) continue; // a watcher created at a future revision
        for (let i = 0; i < g.keys.length; i++) if (spanContains(w.span, g.keys[i]!)) events.push(g.events[i]!);
        last = g.rev;
      }
      if (last === 0) continue;
      if (events.length === 0 || w.sink.deliver(events, last)) {
        w.nextRev = last + 1;
      } else {
        // The consumer is backed up: it catches up from history once it drains.
        this.synced.delete(w);
        this.unsynced.add(w);
      }
    }
  }

  /** Catches unsynced watchers up from the records, one bounded read at a time, until synced. */
  private syncUnsynced(): Promise<void> {
    if (this.syncing || this.unsynced.size === 0) return this.pass;
    this.syncing = true;
    this.pass = this.catchUpAll();
    return this.pass;
  }

  private async catchUpAll(): Promise<void> {
    try {
      for (const w of [...this.unsynced]) {
        if (w.canceled || !w.sink.ready()) continue;
        await this.catchUp(w);
      }
    } finally {
      this.syncing = false;
    }
  }

  private async catchUp(w: Watcher): Promise<void> {
    for (;;) {
      if (w.canceled || this.replacing) return;
      if (w.nextRev < this.store.compactedRevision) {
        this.unsynced.delete(w);
        w.sink.compacted(this.store.compactedRevision);
        return;
      }
      const target = this.store.flushedRev;
      if (w.nextRev > target) {
        // Nothing flushed is left to read, and notify() runs synchronously: from here on it covers the watcher.
        this.unsynced.delete(w);
        this.synced.add(w);
        return;
      }
      const replacements = this.replacements;
      const { events, until } = await this.history(w.span, w.nextRev, Math.min(target, w.nextRev + CATCH_UP_REVISIONS - 1));
      if (w.canceled || replacements !== this.replacements) return; // read across a replacement: again after restored()
      if (w.nextRev < this.store.compactedRevision) continue; // compacted while reading: report it
      if (events.length > 0 && !w.sink.deliver(events, until)) return; // still backed up
      w.nextRev = until + 1;
    }
  }

  /**
   * The events on keys in `span` from `fromRev` on, read from the revision records: through
   * `toRev`, or fewer whole revisions once CATCH_UP_BYTES are read. `until` is the last revision read.
   */
  private async history(span: KeySpan, fromRev: number, toRev: number): Promise<{ events: WatchEvent[]; until: number }> {
    const events: WatchEvent[] = [];
    let bytes = 0;
    let lastRev = fromRev - 1;
    for await (const [k, v] of this.engine.entries({ gte: revisionKeyFloor(fromRev), lt: revisionKeyFloor(toRev + 1) })) {
      const { rev, tombstone } = parseRevisionKey(k);
      invariant(rev.main >= fromRev && rev.main <= toRev, () => `history read ${rev.main} outside [${fromRev}, ${toRev}]`);
      // Stop between revisions, never inside one: a revision's events travel together.
      if (bytes >= CATCH_UP_BYTES && rev.main > lastRev) return { events, until: lastRev };
      bytes += k.length + v.length;
      lastRev = rev.main;
      const kv = decodeKeyValue(v);
      if (!matches(span, kv.key)) continue;
      events.push(tombstone ? toEvent({ ...kv, mod_revision: rev.main }, rev.main) : { type: 'PUT', kv });
    }
    return { events, until: toRev };
  }
}

function toEvent(kv: KeyValue, rev: number): WatchEvent {
  // A tombstone change holds only the key; its event carries the deleting revision.
  return kv.create_revision === 0 ? { type: 'DELETE', kv: { ...kv, mod_revision: rev } } : { type: 'PUT', kv };
}

function matches(span: KeySpan, key: Buffer): boolean {
  return spanContains(span, toKeyString(key));
}
