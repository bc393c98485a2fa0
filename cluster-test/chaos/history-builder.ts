import type { FinalState, InputOf, OpKind, Operation, Outcome, OutputOf, WatchEvent, WatcherLog } from './history';

/**
 * Hand-made histories for the checkers' unit tests: one line per operation, times in plain numbers.
 * Ids follow the order of the calls, as the recorder hands them out.
 */
export class HistoryBuilder {
  readonly ops: Operation[] = [];

  /** An operation that completed ok over [invokeMs, completeMs]. */
  ok<K extends OpKind>(kind: K, key: string, input: InputOf<K>, output: OutputOf<K>, invokeMs: number, completeMs: number,
    extra: { revision?: number; member?: string; client?: number } = {}): Operation {
    return this.add(kind, key, input, 'ok', invokeMs, completeMs, extra, output);
  }

  /** An operation without an answer (its completion time is when the client gave up). */
  unknown<K extends OpKind>(kind: K, key: string, input: InputOf<K>, invokeMs: number, completeMs: number,
    extra: { member?: string; client?: number } = {}): Operation {
    return this.add(kind, key, input, 'unknown', invokeMs, completeMs, extra);
  }

  /** An operation refused before it could take effect. */
  failed<K extends OpKind>(kind: K, key: string, input: InputOf<K>, invokeMs: number, completeMs: number): Operation {
    return this.add(kind, key, input, 'failed', invokeMs, completeMs, {});
  }

  private add<K extends OpKind>(kind: K, key: string, input: InputOf<K>, outcome: Outcome, invokeMs: number, completeMs: number,
    extra: { revision?: number; member?: string; client?: number }, output?: unknown): Operation {
    const op = {
      type: 'op', id: this.ops.length, client: extra.client ?? this.ops.length, member: extra.member ?? 'm1', key,
      kind, input, invokeMs, completeMs, outcome,
      ...(output === undefined ? { error: 'hand-made failure' } : { output }),
      ...(extra.revision === undefined ? {} : { revision: extra.revision }),
    } as Operation;
    this.ops.push(op);
    return op;
  }
}

/** A watcher on `member` over every key from `startRevision`, complete up to `upTo`. */
export function watcher(id: number, member: string, startRevision: number, events: Array<[WatchEvent['kind'], string, string, number]>, upTo?: number): WatcherLog {
  return {
    start: { type: 'watch-start', watcher: id, member, key: '\u0000', rangeEnd: '\u0000', startRevision, atMs: 0 },
    events: events.map(([kind, key, value, revision], i) => ({ type: 'watch-event', watcher: id, kind, key, value, revision, atMs: i + 1 })),
    ...(upTo === undefined ? {} : { end: { type: 'watch-end', watcher: id, upToRevision: upTo, atMs: events.length + 1 } }),
  };
}

/** The final state of `member`: key=value@modRevision (lease '0' unless given). */
export function finalState(member: string, revision: number, kvs: Array<[string, string, number, string?]>, atMs = 1e9): FinalState {
  return { type: 'final', member, revision, atMs, kvs: kvs.map(([key, value, modRevision, lease]) => ({ key, value, modRevision, lease: lease ?? '0' })) };
}
