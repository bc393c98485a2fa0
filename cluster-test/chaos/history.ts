import { createReadStream, createWriteStream, WriteStream } from 'node:fs';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

/**
 * The recorded history of a chaos run: every client operation with its invocation and completion
 * time and its outcome, every watch event as it arrived, and the state each member holds at the end.
 * The checkers read only this, so a history written to a file can be checked again later.
 */

/**
 * ok: the response arrived. failed: the request certainly had no effect (the server refused it
 * before proposing). unknown: no answer (timeout, lost connection): it may or may not have happened.
 */
export type Outcome = 'ok' | 'failed' | 'unknown';

/** Lease IDs are int64: kept as decimal strings, as the generated client returns them. */
export type LeaseId = string;

/** What each kind of operation asks (`input`) and, when it completed ok, what it got (`output`). */
export type OpSpec =
  /** Range of one key; value null when absent (modRevision 0 then). */
  | { kind: 'get'; input: Record<string, never>; output?: { value: string | null; modRevision: number } }
  | { kind: 'put'; input: { value: string; lease?: LeaseId }; output?: Record<string, never> }
  /** DeleteRange of one key; deleted is 0 or 1. */
  | { kind: 'delete'; input: Record<string, never>; output?: { deleted: number } }
  /** Txn: if the key holds `expect` (null: absent) then put `value`. */
  | { kind: 'cas'; input: { expect: string | null; value: string }; output?: { succeeded: boolean } }
  /**
   * Txn on a list key: if the key still holds `basis` (what the client read just before; null:
   * absent), put basis + ',' + item. The workload compares mod_revision; values are unique, so
   * "same mod_revision" and "same value" are the same condition.
   */
  | { kind: 'append'; input: { basis: string | null; item: string }; output?: { succeeded: boolean } }
  | { kind: 'lease-grant'; input: { ttlSec: number }; output?: { lease: LeaseId } }
  /** One keep-alive round trip; ttlSec 0 in the answer means the lease is gone. */
  | { kind: 'lease-keepalive'; input: { lease: LeaseId }; output?: { ttlSec: number } }
  | { kind: 'lease-revoke'; input: { lease: LeaseId }; output?: Record<string, never> };

export type OpKind = OpSpec['kind'];
export type InputOf<K extends OpKind> = Extract<OpSpec, { kind: K }>['input'];
export type OutputOf<K extends OpKind> = NonNullable<Extract<OpSpec, { kind: K }>['output']>;
export const KV_KINDS: ReadonlySet<OpKind> = new Set(['get', 'put', 'delete', 'cas', 'append']);

interface OpCommon {
  type: 'op';
  /** Unique in the history, in invocation order. */
  id: number;
  client: number;
  /** Name of the member the request went to. */
  member: string;
  /** The key operated on; '' for lease operations. */
  key: string;
  /** Monotonic milliseconds (performance.now() of the recording process). */
  invokeMs: number;
  /** When the answer arrived, or when the client gave up (the checkers treat unknown as never). */
  completeMs: number;
  outcome: Outcome;
  /**
   * Header revision of the response, when it completed ok and went through the log (a keep-alive,
   * answered from the leader's lease table, has none).
   */
  revision?: number;
  /** The error text, when it did not complete ok. */
  error?: string;
}

export type Operation = OpCommon & OpSpec;

/** A watcher opened on `member` over [key, rangeEnd) from `startRevision`. */
export interface WatchStart {
  type: 'watch-start';
  watcher: number;
  member: string;
  key: string;
  /** '' for the single key `key`, as in etcd. */
  rangeEnd: string;
  startRevision: number;
  atMs: number;
}

/** One event as the watcher received it, in arrival order. */
export interface WatchEvent {
  type: 'watch-event';
  watcher: number;
  kind: 'PUT' | 'DELETE';
  key: string;
  /** '' for a DELETE. */
  value: string;
  /** The event's kv.mod_revision: the revision of the write or of the deletion. */
  revision: number;
  atMs: number;
}

/** The watcher is known to have received every event up to `upToRevision` (a fence write it saw). */
export interface WatchEnd {
  type: 'watch-end';
  watcher: number;
  upToRevision: number;
  atMs: number;
}

/** What one member holds at the end of the run, read after the cluster settled. */
export interface FinalState {
  type: 'final';
  member: string;
  revision: number;
  kvs: Array<{ key: string; value: string; modRevision: number; lease: LeaseId }>;
  atMs: number;
}

export type HistoryRecord = Operation | WatchStart | WatchEvent | WatchEnd | FinalState;

/** One watcher's records, gathered. */
export interface WatcherLog {
  start: WatchStart;
  events: WatchEvent[];
  end?: WatchEnd;
}

/** A history in the shape the checkers use. */
export interface History {
  ops: Operation[];
  watchers: WatcherLog[];
  finals: FinalState[];
}

/** Sorts records into ops (by id), watchers (by id, events in arrival order) and final states. */
export function gather(records: Iterable<HistoryRecord>): History {
  const ops: Operation[] = [];
  const finals: FinalState[] = [];
  const watchers = new Map<number, WatcherLog>();
  const watcher = (id: number) => {
    const w = watchers.get(id);
    if (!w) throw new Error(`watch record for watcher ${id} before its watch-start`);
    return w;
  };
  for (const r of records) {
    switch (r.type) {
      case 'op': ops.push(r); break;
      case 'final': finals.push(r); break;
      case 'watch-start':
        if (watchers.has(r.watcher)) throw new Error(`watcher ${r.watcher} started twice`);
        watchers.set(r.watcher, { start: r, events: [] });
        break;
      case 'watch-event': watcher(r.watcher).events.push(r); break;
      case 'watch-end': watcher(r.watcher).end = r; break;
    }
  }
  ops.sort((a, b) => a.id - b.id);
  return { ops, watchers: [...watchers.values()].sort((a, b) => a.start.watcher - b.start.watcher), finals };
}

/** The monotonic clock of the history: wall time can step, which would reorder operations. */
export const monotonicMs = (): number => performance.now();

/** An operation invoked and not yet completed. */
export interface Pending<K extends OpKind> {
  id: number;
  client: number;
  member: string;
  key: string;
  kind: K;
  input: InputOf<K>;
  invokeMs: number;
}

/**
 * Append-only recorder: an operation is recorded once, when it completes (or is given up on),
 * with the time of its invocation. Records go to memory and, if given, to a sink (a file).
 */
export class Recorder {
  private readonly records: HistoryRecord[] = [];
  private nextOp = 0;
  private nextWatcher = 0;

  constructor(private readonly sink?: (r: HistoryRecord) => void, private readonly now: () => number = monotonicMs) {}

  /** Marks the invocation of an operation; complete it with one of ok/failed/unknown. */
  invoke<K extends OpKind>(client: number, member: string, key: string, kind: K, input: InputOf<K>): Pending<K> {
    return { id: this.nextOp++, client, member, key, kind, input, invokeMs: this.now() };
  }

  /** `revision` undefined: the answer's header revision says nothing about order (see Operation.revision). */
  ok<K extends OpKind>(p: Pending<K>, output: OutputOf<K>, revision: number | undefined): void {
    this.add({ type: 'op', ...p, completeMs: this.now(), outcome: 'ok', output, ...(revision === undefined ? {} : { revision }) } as Operation);
  }

  /** The request certainly had no effect. */
  failed<K extends OpKind>(p: Pending<K>, error: string): void {
    this.add({ type: 'op', ...p, completeMs: this.now(), outcome: 'failed', error } as Operation);
  }

  /** No answer: the request may or may not have taken effect. */
  unknown<K extends OpKind>(p: Pending<K>, error: string): void {
    this.add({ type: 'op', ...p, completeMs: this.now(), outcome: 'unknown', error } as Operation);
  }

  watchStart(member: string, key: string, rangeEnd: string, startRevision: number): number {
    const watcher = this.nextWatcher++;
    this.add({ type: 'watch-start', watcher, member, key, rangeEnd, startRevision, atMs: this.now() });
    return watcher;
  }

  watchEvent(watcher: number, kind: 'PUT' | 'DELETE', key: string, value: string, revision: number): void {
    this.add({ type: 'watch-event', watcher, kind, key, value, revision, atMs: this.now() });
  }

  watchEnd(watcher: number, upToRevision: number): void {
    this.add({ type: 'watch-end', watcher, upToRevision, atMs: this.now() });
  }

  final(member: string, revision: number, kvs: FinalState['kvs']): void {
    this.add({ type: 'final', member, revision, kvs, atMs: this.now() });
  }

  /** Everything recorded so far, in recording order. */
  all(): readonly HistoryRecord[] {
    return this.records;
  }

  history(): History {
    return gather(this.records);
  }

  private add(r: HistoryRecord): void {
    this.records.push(r);
    this.sink?.(r);
  }
}

/** A sink writing one JSON object per line; `close()` flushes and closes the file. */
export function jsonLinesSink(path: string): { sink: (r: HistoryRecord) => void; close: () => Promise<void> } {
  const out: WriteStream = createWriteStream(path, { flags: 'a' });
  return {
    sink: (r) => void out.write(`${JSON.stringify(r)}\n`),
    close: async () => {
      out.end();
      await once(out, 'finish');
    },
  };
}

/** Writes records as JSON lines (replacing the file). */
export async function writeJsonLines(path: string, records: Iterable<HistoryRecord>): Promise<void> {
  const out = createWriteStream(path);
  for (const r of records) {
    if (!out.write(`${JSON.stringify(r)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** Reads a JSON-lines history; a malformed line fails with its line number. */
export async function readJsonLines(path: string): Promise<HistoryRecord[]> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  const records: HistoryRecord[] = [];
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    try {
      records.push(JSON.parse(line) as HistoryRecord);
    } catch (err) {
      throw new Error(`${path}:${n}: not a JSON record (${(err as Error).message})`);
    }
  }
  return records;
}
