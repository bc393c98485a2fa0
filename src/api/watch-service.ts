import * as grpc from '@grpc/grpc-js';
import type { Event } from '../generated/mvccpb/Event';
import type { WatchHandlers } from '../generated/etcdserverpb/Watch';
import type { WatchCreateRequest__Output } from '../generated/etcdserverpb/WatchCreateRequest';
import type { WatchRequest__Output } from '../generated/etcdserverpb/WatchRequest';
import type { WatchResponse } from '../generated/etcdserverpb/WatchResponse';
import type { WatchEvent, WatchHandle } from '../mvcc/watchable-store';
import { KeelServer } from '../server/keel-server';
import { isFromKey } from '../server/apply/span';
import { Logger } from '../util/logger';
import { callerOf } from './auth-guard';
import { goStatusText, toGrpcFailure, toServiceError } from './grpc-errors';
import { encodeEventResponse, encodeHeaderField, encodeWatchIdField, OutgoingEvent, serializeWatchResponse } from './watch-response-encoding';
import { acceptFramedMessages, FramedMessages } from './framed-messages';

export interface WatchServiceOptions {
  /** How often watchers that asked for progress_notify get an empty response (etcd: 10 minutes). */
  progressNotifyIntervalMs: number;
  /** Responses larger than this are split when the watcher asked for fragments (--max-request-bytes). */
  maxResponseBytes: number;
}

/**
 * Events of many revisions (a watcher catching up) go out in responses of about this size, split
 * only between revisions, so no response outgrows what clients accept (grpc-js: 4 MiB by default).
 */
const RESPONSE_BYTES = 1024 * 1024;

/**
 * Responses a stream may have waiting to go out before its watchers count as backed up. etcd's
 * buffer is 128, but it is per watcher: one put to a key a thousand watchers of one stream share
 * makes a thousand responses at once, and a backed-up watcher costs a catch-up read from disk.
 */
const MAX_PENDING_RESPONSES = 4096;

/**
 * Event bytes a stream may have written but not yet taken by its client before its watchers count
 * as backed up: with MAX_PENDING_RESPONSES, what one slow client can make a member hold.
 */
const MAX_PENDING_BYTES = 8 * 1024 * 1024;

/** Watchers one stream may hold; more are refused (etcd sets no limit, so one stream could exhaust a member). */
export const MAX_WATCHERS_PER_STREAM = 10_000;

/** etcdserverpb.Watch: one bidirectional stream carries many watchers. */
export function watchService(server: KeelServer, log: Logger, opts: WatchServiceOptions): WatchHandlers {
  return {
    Watch: (call) => {
      try {
        // As etcd's stream interceptor: a learner serves no watch.
        server.ensureServes(true);
      } catch (err) {
        call.emit('error', toServiceError(err));
        return;
      }
      acceptFramedMessages(call);
      new WatchStream(call, server, log, opts).start();
    },
  };
}

interface StreamWatcher {
  /** Set right after the created reply is queued. */
  handle?: WatchHandle;
  /** The watch ID as its responses carry it (encodeWatchIdField). */
  idField: Uint8Array;
  noPut: boolean;
  noDelete: boolean;
  prevKv: boolean;
  fragment: boolean;
  progressNotify: boolean;
  /** Events went to it since the last periodic progress notification, so it skips the next one. */
  hadEvents: boolean;
}

type Call = grpc.ServerDuplexStream<WatchRequest__Output, WatchResponse>;

/**
 * One Watch stream. Responses go out in order through one chain (events with prev_kv need a read
 * first); when too many wait, this stream's watchers report themselves backed up and the store
 * catches them up later, so a client that stops reading costs bounded memory.
 */
class WatchStream {
  private readonly watchers = new Map<string, StreamWatcher>();
  private nextId = 0;
  private pending = 0;
  /** Responses written but not yet taken by HTTP/2, and the event bytes in them. */
  private unflushedWrites = 0;
  private unflushedBytes = 0;
  /** Responses of this turn of the event loop, to go out together (FramedMessages). */
  private outgoing: Buffer[] = [];
  private outgoingBytes = 0;
  private chain: Promise<void> = Promise.resolve();
  private progressPending = false;
  private lastProgressNotify = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private lastHeader: { revision: number; term: number; bytes: Uint8Array } | undefined;

  constructor(
    private readonly call: Call,
    private readonly server: KeelServer,
    private readonly log: Logger,
    private readonly opts: WatchServiceOptions,
  ) {}

  start(): void {
    this.call.on('data', (req: WatchRequest__Output) => this.onRequest(req));
    // A client that half-closes (CloseSend) is still listening, as etcd's recvLoop takes EOF: the
    // stream ends when the client cancels it or the call fails.
    this.call.on('error', () => this.close());
    this.call.on('cancelled', () => this.close());
    this.timer = setInterval(() => this.tick(), Math.min(this.opts.progressNotifyIntervalMs, 1000));
    this.timer.unref();
  }

  private onRequest(req: WatchRequest__Output): void {
    if (req.create_request) this.create(req.create_request);
    else if (req.cancel_request) this.cancel(req.cancel_request.watch_id);
    else if (req.progress_request) {
      this.progressPending = true;
      this.maybeSendProgress();
    }
  }

  private create(c: WatchCreateRequest__Output): void {
    try {
      // The checks the stream passed when it opened: a member that has stopped since ends it.
      this.server.ensureServes(true);
    } catch (err) {
      this.call.emit('error', toServiceError(err));
      return;
    }
    // As etcd: an empty key means the smallest key, "\0".
    const key = c.key.length === 0 ? Buffer.from([0]) : c.key;
    try {
      // As etcd: the stream's token is looked at for each watcher it creates, which needs read
      // access to its keys; no token, a bad or stale one only refuses the watcher, not the stream.
      this.server.checkPermitted(callerOf(this.server, this.call), key, c.range_end, 'read');
    } catch (err) {
      this.refuse(goStatusText(toGrpcFailure(err)));
      return;
    }
    // In etcd's watchStream.Watch order, so that a refused watcher takes no ID: a range end not after
    // the key ("\0" aside: from the key on) matches nothing; then the ID.
    if (c.range_end.length > 0 && !isFromKey(c.range_end) && Buffer.compare(key, c.range_end) >= 0) {
      this.refuse('mvcc: watcher range is empty');
      return;
    }
    if (this.watchers.size >= MAX_WATCHERS_PER_STREAM) {
      this.refuse(`etcdserver: too many watchers on one stream (at most ${MAX_WATCHERS_PER_STREAM}); open another stream`);
      return;
    }
    let id = c.watch_id;
    if (id === '0') {
      while (this.watchers.has(String(this.nextId))) this.nextId++;
      id = String(this.nextId++);
    } else if (this.watchers.has(id)) {
      this.refuse('mvcc: duplicate watch ID provided on the WatchStream');
      return;
    }
    const w: StreamWatcher = {
      idField: encodeWatchIdField(id),
      noPut: c.filters.includes('NOPUT'),
      noDelete: c.filters.includes('NODELETE'),
      prevKv: c.prev_kv,
      fragment: c.fragment,
      progressNotify: c.progress_notify,
      hadEvents: false,
    };
    this.watchers.set(id, w);
    // The created reply goes first and carries the store's revision as the watch begins, as etcd's:
    // a watch from now starts after it, and a client resumes from it. Writes answered but still on
    // their way to the engine count, so not watchRevision, which waits for them.
    const createdAt = this.server.currentRevision;
    this.enqueue(async () => this.write({ watch_id: id, created: true, header: this.header(createdAt) }));
    w.handle = this.server.watch(key, c.range_end, Number(c.start_revision), {
      deliver: (events, rev) => this.deliver(w, events, rev),
      ready: () => !this.closed && !this.backedUp(),
      compacted: (compactRev) => {
        this.watchers.delete(id);
        // etcd's compacted cancel names no revision: its header's is 0.
        this.send({ watch_id: id, canceled: true, compact_revision: compactRev }, 0);
      },
    });
  }

  /** As etcd's recvLoop: a watcher it could not create has no ID, so the reply carries -1 (clientv3.InvalidWatchID). */
  private refuse(reason: string): void {
    this.send({ watch_id: -1, created: true, canceled: true, cancel_reason: reason });
  }

  /**
   * Responses queued here or written but not yet taken by HTTP/2 (a client that stops reading
   * exhausts its flow-control window, and the writes stop completing).
   */
  private backedUp(): boolean {
    return this.pending + this.outgoing.length + this.unflushedWrites >= MAX_PENDING_RESPONSES
      || this.outgoingBytes + this.unflushedBytes >= MAX_PENDING_BYTES;
  }

  private cancel(id: string): void {
    const w = this.watchers.get(id);
    if (w === undefined) return;
    w.handle?.cancel();
    this.watchers.delete(id);
    this.send({ watch_id: id, canceled: true });
  }

  private deliver(w: StreamWatcher, events: WatchEvent[], rev: number): boolean {
    if (this.closed || this.backedUp()) return false;
    const wanted = events.filter((e) => !(e.type === 'PUT' ? w.noPut : w.noDelete));
    if (wanted.length === 0) return true;
    w.hadEvents = true;
    const writeAll = (out: OutgoingEvent[]) => {
      const chunks = chunkByRevision(out, RESPONSE_BYTES);
      for (const [i, chunk] of chunks.entries()) {
        // A response before the last names the revision of its own last event: a client that
        // resumes after a response's header revision (the etcd3 npm client does) would otherwise
        // skip the events of those still on their way when the stream broke.
        const revision = i === chunks.length - 1 ? rev : chunk[chunk.length - 1]!.kv.mod_revision;
        for (const part of w.fragment ? this.fragments(chunk) : [{ events: chunk, more: false }]) {
          if (this.closed) return;
          this.writeCounted(encodeEventResponse(this.headerField(revision), w.idField, part.events, part.more), part.events);
        }
      }
    };
    // Without previous values nothing is read: with nothing queued ahead, write at once (no job).
    if (!w.prevKv && this.pending === 0) {
      writeAll(wanted.map((e) => ({ type: e.type, kv: e.kv })));
      return true;
    }
    this.enqueue(async () => {
      const out: OutgoingEvent[] = [];
      for (const e of wanted) {
        // As etcd: a put that created its key has no previous value to look for (a txn that
        // deleted the key and put it again would otherwise find the deleted one).
        const created = e.type === 'PUT' && e.kv.create_revision === e.kv.mod_revision;
        const prev = w.prevKv && !created ? await this.server.previousKv(e.kv.key, e.kv.mod_revision) : undefined;
        out.push({ type: e.type, kv: e.kv, ...(prev ? { prev_kv: prev } : {}) });
      }
      writeAll(out);
    });
    return true;
  }

  /** Splits events into responses under the size limit; all but the last are marked fragment. */
  private fragments(events: OutgoingEvent[]): Array<{ events: OutgoingEvent[]; more: boolean }> {
    const parts: Array<{ events: OutgoingEvent[]; more: boolean }> = [];
    let current: OutgoingEvent[] = [];
    let size = 0;
    for (const e of events) {
      const bytes = eventBytes(e);
      if (current.length > 0 && size + bytes > this.opts.maxResponseBytes) {
        parts.push({ events: current, more: true });
        current = [];
        size = 0;
      }
      current.push(e);
      size += bytes;
    }
    parts.push({ events: current, more: false });
    return parts;
  }

  private tick(): void {
    if (this.closed) return;
    this.maybeSendProgress();
    const now = Date.now();
    if (now - this.lastProgressNotify >= this.opts.progressNotifyIntervalMs) {
      this.lastProgressNotify = now;
      // Taken before the loop: each notification queued in it counts as pending.
      const nothingQueued = this.pending === 0;
      for (const [id, w] of this.watchers) {
        if (w.progressNotify && !w.hadEvents && nothingQueued && w.handle?.synced()) this.send({ watch_id: id });
        w.hadEvents = false;
      }
    }
  }

  /** A progress response promises every event up to its revision was sent: only when all are synced. */
  private maybeSendProgress(): void {
    if (!this.progressPending) return;
    for (const w of this.watchers.values()) if (!w.handle?.synced()) return;
    this.progressPending = false;
    this.send({ watch_id: -1 });
  }

  /**
   * A control response, in order with the events, stamped with the revision as it is queued: every
   * event up to it is queued ahead of it, and events of later revisions may queue behind it. (Stamped
   * as it went out, a progress response could name a revision whose events came after it.)
   */
  private send(resp: Omit<WatchResponse, 'header'>, revision = this.server.watchRevision): void {
    this.enqueue(async () => this.write({ ...resp, header: this.header(revision) }));
  }

  private enqueue(job: () => Promise<void>): void {
    this.pending++;
    this.chain = this.chain.then(job).catch((err: unknown) => {
      this.log.error('watch stream failed', { error: String(err) });
      this.call.emit('error', { code: grpc.status.INTERNAL, details: String(err) });
    }).finally(() => {
      this.pending--;
    });
  }

  private write(resp: WatchResponse): void {
    if (this.closed) return;
    this.writeCounted(resp, resp.events ?? []);
  }

  /**
   * Queues a response (an object, or event bytes from encodeEventResponse) to go out with the
   * others of this turn: a put that a thousand watchers of this stream share makes a thousand
   * responses in one go, and one HTTP/2 write for them all costs far less than one each.
   */
  private writeCounted(resp: WatchResponse | Buffer, events: Event[]): void {
    this.outgoing.push(serializeWatchResponse(resp));
    this.outgoingBytes += events.reduce((sum, e) => sum + eventBytes(e), 0);
    if (this.outgoing.length === 1) queueMicrotask(() => this.flush());
  }

  /** Writes the queued responses, counted until HTTP/2 takes them. */
  private flush(): void {
    const batch = FramedMessages.of(this.outgoing);
    const bytes = this.outgoingBytes;
    this.outgoing = [];
    this.outgoingBytes = 0;
    // Ended by a failure of the stream (its status is on the way): nothing more goes out.
    if (this.call.writableEnded) return;
    this.unflushedWrites += batch.count;
    this.unflushedBytes += bytes;
    this.call.write(batch as WatchResponse, () => {
      this.unflushedWrites -= batch.count;
      this.unflushedBytes -= bytes;
    });
  }

  private header(revision: number) {
    return { ...this.server.header(), revision };
  }

  /** The header field of event responses at `revision`, encoded once per revision and term. */
  private headerField(revision: number): Uint8Array {
    // Checked without building a header: this runs once per response of a fan-out.
    const cached = this.lastHeader;
    if (cached?.revision === revision && cached.term === this.server.raftTerm) return cached.bytes;
    const header = this.header(revision);
    this.lastHeader = { revision, term: header.raft_term, bytes: encodeHeaderField(header) };
    return this.lastHeader.bytes;
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const w of this.watchers.values()) w.handle?.cancel();
    this.watchers.clear();
  }
}

function eventBytes(e: Event): number {
  return (e.kv?.key?.length ?? 0) + (e.kv?.value?.length ?? 0) + (e.prev_kv?.value?.length ?? 0) + 64;
}

/** Consecutive runs of events of about `maxBytes`, cut only where the revision changes. */
function chunkByRevision(events: OutgoingEvent[], maxBytes: number): OutgoingEvent[][] {
  if (events.length === 1) return [events]; // the usual live event, one per put
  const chunks: OutgoingEvent[][] = [];
  let current: OutgoingEvent[] = [];
  let size = 0;
  for (const e of events) {
    const prev = current[current.length - 1];
    if (prev !== undefined && size >= maxBytes && String(prev.kv?.mod_revision) !== String(e.kv?.mod_revision)) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(e);
    size += eventBytes(e);
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
