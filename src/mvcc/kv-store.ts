import { Engine, EngineOp } from '../storage/engine';
import { decodeNumber, encodeNumber, metaKey, prefixRange, PREFIX_REVISION } from '../storage/keyspace';
import { EMPTY_BYTES, fromKeyString } from '../util/bytes';
import { Logger } from '../util/logger';
import { CompactedError, FutureRevisionError } from './errors';
import { decodeKeyValue, KeyValue } from './key-value';
import { IndexBuilder } from './index-builder';
import { Revision, revisionId, revisionKey } from './revision';
import { compactRecords } from './compaction';
import { hashRecords } from './hash';
import * as indexCheckpoint from './index-checkpoint';
import type { IndexCheckpoint } from './index-checkpoint';
import { RecordCache } from './record-cache';
import { KeySpan, TreeIndex } from './tree-index';
import { WriteTxn } from './write-txn';

export interface RangeOptions {
  /** Revision to read at; 0 or less reads the current one. */
  rev: number;
  /** Most keys to return (0 = all); `count` still counts every match. */
  limit: number;
  countOnly: boolean;
  /**
   * Answer from the key index alone, without reading records: keys, revisions and versions are
   * right, values are empty and leases '0'. For a txn compare on a revision or version.
   */
  indexOnly?: boolean;
}

/** The changes one write request made, all at one revision: puts as stored, deletes as tombstones. */
export interface RevisionChanges {
  rev: number;
  changes: KeyValue[];
}

/** Reads at one revision: a read view, or a write transaction seeing its own writes. */
export interface KvView {
  readonly headRev: number;
  /**
   * Reads below this revision fail; it can only grow. -1 until the first compaction, as etcd's
   * compactMainRev (its FirstRev()).
   */
  readonly compactRev: number;
  range(span: KeySpan, opts: RangeOptions): Promise<RangeResult>;
}

export interface RangeResult {
  kvs: KeyValue[];
  count: number;
  /** The store's current revision, whatever revision was read (as etcd answers). */
  rev: number;
}

/**
 * Bytes of recently read records kept in memory: small beside a member's key index (about 800 MiB
 * for a million keys), large enough for the working set of the reads a control plane makes.
 */
const RECORD_CACHE_BYTES = 32 * 1024 * 1024;
/**
 * A read of more records than this from the engine is a scan (a list of every pod, say): kept,
 * they would push out the records that reads of single keys come back for.
 */
const SCAN_RECORDS = 64;

/**
 * The multi-version store: revision records in the engine, the key index in memory. Writes come
 * only from apply, one WriteTxn at a time, into a batch the applier writes together with the
 * applied index; reads may run concurrently and never see a write transaction half done.
 */
export class MvccStore {
  private index = new TreeIndex();
  /** Records written by apply but not yet in the engine, by revision id; reads look here first. */
  private readonly unflushed = new Map<string, KeyValue>();
  /** Records read from the engine lately; reads look here next. */
  private readonly recent = new RecordCache(RECORD_CACHE_BYTES);
  /** Physical compactions wait for the batch that schedules them, then run one after another. */
  private awaitingFlush: Array<{ rev: number; keep: Set<string>; done: (err?: unknown) => void }> = [];
  private physicalCompaction: Promise<void> = Promise.resolve();
  /** etcd's store starts at revision 1, so the first write is revision 2. */
  private rev = 1;
  private compactRev = 0;
  /** Whether a compaction was ever scheduled: before that etcd's compactMainRev is -1, not 0. */
  private everCompacted = false;
  /** Write requests ended since the last flush, with their changes, for watchers. */
  private committed: RevisionChanges[] = [];
  /** The newest revision whose records are all in the engine. */
  flushedRev = 1;
  private leasedAtLoad = new Map<string, string>();
  private readonly flushWaiters: Array<{ rev: number; resolve(): void }> = [];
  /** Told of every write request's changes once they are in the engine, in revision order. */
  onFlushed: ((groups: RevisionChanges[]) => void) | undefined;

  private constructor(
    private readonly engine: Engine,
    private readonly log: Logger,
  ) {}

  /** Loads the key index from the revision records and finishes a compaction a crash interrupted. */
  static async open(engine: Engine, log: Logger): Promise<MvccStore> {
    const store = new MvccStore(engine, log);
    await store.load();
    return store;
  }

  /**
   * Drops the in-memory state and loads it again, after the records were replaced (a snapshot).
   * `built`, when given, is the index of the revision records now in the engine, built from them
   * as they were written rather than read back.
   */
  async reload(built?: IndexBuilder): Promise<void> {
    await this.idle();
    await this.load(built);
  }

  /**
   * Reads the state's marks and its key index, then takes them in one synchronous step: a read
   * during a reload sees the old state or the new one, never an empty store at revision 1.
   */
  private async load(built?: IndexBuilder): Promise<void> {
    const scheduledMark = decodeNumber(await this.engine.get(metaKey('compact-scheduled')));
    const scheduled = scheduledMark ?? 0;
    const finished = decodeNumber(await this.engine.get(metaKey('compact-finished'))) ?? 0;
    const { checkpoint, deleteOps } = await indexCheckpoint.load(this.engine, { scheduled, finished });
    // Gone before anything else is written: from here on the records move past it.
    await this.engine.write(deleteOps, { sync: false });
    let loaded: IndexCheckpoint;
    let rebuiltFrom: number | undefined;
    if (built === undefined && checkpoint !== undefined) {
      loaded = checkpoint;
    } else {
      built ??= await new IndexBuilder().addChunks(this.engine.entryChunks(prefixRange(PREFIX_REVISION)));
      loaded = built;
      rebuiltFrom = built.records;
    }
    this.index = loaded.index;
    this.leasedAtLoad = loaded.leased;
    this.rev = Math.max(loaded.rev, scheduled);
    this.unflushed.clear();
    this.recent.clear();
    this.everCompacted = scheduledMark !== undefined;
    this.compactRev = scheduled;
    if (scheduled > 0 && rebuiltFrom !== undefined) {
      const keep = this.index.compact(scheduled);
      if (scheduled > finished) this.startPhysicalCompaction(scheduled, keep, () => {});
    }
    this.flushedRev = this.rev;
    this.flushAdvanced();
    this.log.info('restored mvcc store', {
      'current-revision': this.rev, 'compact-revision': this.compactRev, keys: this.index.size,
      from: rebuiltFrom === undefined ? 'the key index saved at the last clean stop' : `${rebuiltFrom} revision records`,
    });
  }

  /**
   * At a clean stop, once nothing is being applied: saves the key index so the next start need not
   * rebuild it, with `leased`, the lease of every key that has one. Skipped while a physical
   * compaction is unfinished (the next start resumes it from a rebuilt index).
   */
  async saveIndexCheckpoint(leased: ReadonlyMap<string, string>): Promise<void> {
    await this.idle();
    const finished = decodeNumber(await this.engine.get(metaKey('compact-finished'))) ?? 0;
    if (finished !== this.compactRev || this.unflushed.size > 0) return;
    const started = performance.now();
    const ops = await indexCheckpoint.saveOps(this.engine, this.index, leased, this.rev, this.compactRev);
    await this.engine.write(ops, { sync: true });
    this.log.info('saved the key index for the next start', { keys: this.index.size, took: `${Math.round(performance.now() - started)}ms` });
  }

  get currentRevision(): number {
    return this.rev;
  }

  /** etcd's compactMainRev: the compacted revision, -1 before any compaction. */
  private get firstRev(): number {
    return this.everCompacted ? this.compactRev : -1;
  }

  get compactedRevision(): number {
    return this.compactRev;
  }

  /** The keys that had a lease when the store was loaded (lease ID by key); handed out once. */
  takeLeasedKeys(): Map<string, string> {
    const m = this.leasedAtLoad;
    this.leasedAtLoad = new Map();
    return m;
  }

  /** Reads at the current revision, fixed now so a multi-read request sees one state. */
  readView(): KvView {
    const headRev = this.rev;
    const store = this;
    return {
      headRev,
      get compactRev() {
        return store.firstRev;
      },
      range: (span, opts) => this.rangeAt(span, opts, headRev),
    };
  }

  /** Starts the only write transaction; its changes go into `batch`, which the caller writes. */
  beginWrite(batch: EngineOp[]): WriteTxn {
    return new WriteTxn(this.rev, batch, {
      index: this.index,
      compactRev: () => this.firstRev,
      unflushed: this.unflushed,
      range: (span, opts, headRev) => this.rangeAt(span, opts, headRev),
      commit: (rev, changes) => {
        this.rev = rev;
        if (changes.length > 0) this.committed.push({ rev, changes });
      },
    });
  }

  /**
   * Compacts history at `rev`: the index at once, the records after the scheduling batch is
   * flushed. The returned promise settles when the records are gone (etcd's `physical`).
   */
  compact(rev: number, batch: EngineOp[]): Promise<void> {
    if (rev <= this.firstRev) throw new CompactedError();
    if (rev > this.rev) throw new FutureRevisionError();
    this.compactRev = rev;
    this.everCompacted = true;
    const keep = this.index.compact(rev);
    batch.push({ type: 'put', key: metaKey('compact-scheduled'), value: encodeNumber(rev) });
    return new Promise((resolve, reject) => {
      this.awaitingFlush.push({ rev, keep, done: (err) => (err === undefined ? resolve() : reject(err)) });
    });
  }

  /** Called once the batch holding every write so far is in the engine. */
  markFlushed(): void {
    this.unflushed.clear();
    this.flushedRev = this.rev;
    this.flushAdvanced();
    const groups = this.committed;
    this.committed = [];
    if (groups.length > 0) this.onFlushed?.(groups);
    const ready = this.awaitingFlush;
    this.awaitingFlush = [];
    for (const c of ready) this.startPhysicalCompaction(c.rev, c.keep, c.done);
  }

  /**
   * etcd's HashByRev: the hash of the history up to `rev` (0: the current revision) that survives
   * compaction, with the revisions it was taken at. Reads only records already in the engine.
   */
  async hashByRev(rev: number): Promise<{ hash: number; currentRev: number; compactRev: number; hashRev: number }> {
    const compactRev = this.compactRev;
    const currentRev = this.rev;
    // As etcd 3.5.10+ (and 3.4.27+): the compacted revision itself can still be hashed.
    if (rev > 0 && rev < compactRev) throw new CompactedError();
    if (rev > currentRev) throw new FutureRevisionError();
    const hashRev = rev === 0 ? currentRev : rev;
    const keep = this.index.keep(hashRev);
    await this.whenFlushed(hashRev);
    const hash = await hashRecords(this.engine, hashRev, compactRev, keep);
    return { hash, currentRev, compactRev, hashRev };
  }

  /** Resolves once every record up to `rev` is in the engine. */
  private whenFlushed(rev: number): Promise<void> {
    if (this.flushedRev >= rev) return Promise.resolve();
    return new Promise((resolve) => this.flushWaiters.push({ rev, resolve }));
  }

  private flushAdvanced(): void {
    for (let i = this.flushWaiters.length - 1; i >= 0; i--) {
      const w = this.flushWaiters[i]!;
      if (w.rev <= this.flushedRev) {
        this.flushWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  /** Resolves when no physical compaction is running. */
  async idle(): Promise<void> {
    await this.physicalCompaction;
  }

  private startPhysicalCompaction(rev: number, keep: Set<string>, done: (err?: unknown) => void): void {
    this.physicalCompaction = this.physicalCompaction.then(async () => {
      const started = process.hrtime.bigint();
      try {
        const removed = await compactRecords(this.engine, rev, keep);
        this.log.info('finished scheduled compaction', {
          'compact-revision': rev, 'removed-records': removed,
          took: `${Number(process.hrtime.bigint() - started) / 1e6}ms`,
        });
        done();
      } catch (err) {
        // Not rethrown: a rejected chain would skip every later compaction (their promises never
        // settling) and make idle() reject for good. The next start resumes it (scheduled > finished).
        this.log.error('scheduled compaction failed', { 'compact-revision': rev, error: String(err) });
        done(err);
      }
    });
  }

  private async rangeAt(span: KeySpan, opts: RangeOptions, headRev: number): Promise<RangeResult> {
    if (opts.rev > headRev) throw new FutureRevisionError();
    const rev = opts.rev <= 0 ? headRev : opts.rev;
    if (rev < this.compactRev) throw new CompactedError();
    const { keys, total } = this.index.range(span, rev, opts.countOnly ? 1 : opts.limit);
    if (opts.countOnly) return { kvs: [], count: total, rev: headRev };
    if (opts.indexOnly) {
      const kvs = keys.map((k): KeyValue => ({
        key: fromKeyString(k.key), create_revision: k.created.main, mod_revision: k.modified.main, version: k.version,
        value: EMPTY_BYTES, lease: '0',
      }));
      return { kvs, count: total, rev: headRev };
    }
    return { kvs: await this.readRecords(keys.map((k) => k.modified)), count: total, rev: headRev };
  }

  private async readRecords(revs: Revision[]): Promise<KeyValue[]> {
    const out = new Array<KeyValue>(revs.length);
    const ids = revs.map(revisionId);
    const missing: number[] = [];
    ids.forEach((id, i) => {
      const kv = this.unflushed.get(id) ?? this.recent.get(id);
      if (kv !== undefined) out[i] = kv;
      else missing.push(i);
    });
    if (missing.length === 0) return out;
    const values = await this.engine.getMany(missing.map((i) => revisionKey(revs[i]!, false)));
    const keep = missing.length <= SCAN_RECORDS;
    values.forEach((v, j) => {
      // Only a compaction that ran while this read was in flight removes a record it needs.
      if (v === undefined) throw new CompactedError();
      const kv = decodeKeyValue(v);
      if (keep) this.recent.set(ids[missing[j]!]!, kv);
      out[missing[j]!] = kv;
    });
    return out;
  }
}
