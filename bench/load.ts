import type { EtcdClient } from '../src/client/etcd-client';
import type { Op } from './workload';

export interface LoadSpec {
  /** The connections; client i sends on conns[i % conns.length]. */
  conns: EtcdClient[];
  /** Closed-loop clients: each keeps exactly one request in flight. */
  clients: number;
  /** The loop ends at whichever comes first: this much time (may be Infinity), or `requests` requests sent. */
  durationMs: number;
  requests?: number;
  op: Op;
  /** Called every `progressIntervalMs` with the requests answered so far (ok + failed). */
  onProgress?: (done: number) => void;
  progressIntervalMs?: number;
}

export interface LoadResult {
  /** Requests answered successfully; only these have latency samples. */
  ok: number;
  failed: number;
  /** The first failure's message, so a row with errors says why. */
  firstError?: string;
  /** From start until the last client finished its last request. */
  elapsedMs: number;
  latenciesMs: number[];
}

/**
 * Closed loop: `clients` loops each send, wait for the answer, send again, until the time is up
 * or the requests are all sent.
 * Throughput is then what the server sustains at that concurrency, not a rate we chose, and every
 * request's latency is measured from just before the call to the callback that sees its answer.
 */
export async function runClosedLoop(spec: LoadSpec): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let failed = 0;
  let firstError: string | undefined;
  const start = process.hrtime.bigint();
  const deadline = Number.isFinite(spec.durationMs) ? start + BigInt(Math.round(spec.durationMs * 1e6)) : undefined;

  let budget = spec.requests ?? Infinity;

  const client = async (conn: EtcdClient, index: number) => {
    while (budget > 0 && (deadline === undefined || process.hrtime.bigint() < deadline)) {
      budget--;
      const sent = process.hrtime.bigint();
      try {
        await spec.op(conn, index);
        latenciesMs.push(Number(process.hrtime.bigint() - sent) / 1e6);
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    }
  };

  const progress = spec.onProgress;
  const timer = progress && setInterval(() => progress(latenciesMs.length + failed), spec.progressIntervalMs ?? 1000);
  try {
    await Promise.all(Array.from({ length: spec.clients }, (_, i) => client(spec.conns[i % spec.conns.length]!, i)));
  } finally {
    if (timer) clearInterval(timer);
  }
  const elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
  return { ok: latenciesMs.length, failed, ...(firstError !== undefined && { firstError }), elapsedMs, latenciesMs };
}
