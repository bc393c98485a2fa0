import { EtcdClient } from '../src/client/etcd-client';
import { runClosedLoop } from './load';
import { machineBusyCpuMs, ownConnectionsTo, processCpuMs } from './proc';
import type { Row } from './rows';
import { LatencySummary, summarize } from './stats';
import { startTarget, System, Target } from './targets';
import { makeOp, makeWorkload, prepareTarget, Workload } from './workload';

export interface SuiteOptions {
  systems: System[];
  rows: Row[];
  /** Measured time of each row on each system. */
  durationMs: number;
  /** Same load, not measured, before each row: connects channels and warms JITs and caches. */
  warmupMs: number;
  valueBytes: number;
  /** Where progress lines go (stderr), so stdout holds only the result. */
  log: (line: string) => void;
}

export interface RowResult {
  system: System;
  row: Row;
  opsPerSec: number;
  ok: number;
  failed: number;
  firstError?: string;
  latency: LatencySummary;
  /** TCP connections this process had open to the server when the measured phase began. */
  conns: number;
  /** CPU used by this benchmark process during the row, in % of one core: near 100 means the client may be the limit. */
  benchCpuPct: number;
  /** CPU used by the server process during the row, in % of one core (can exceed 100: threads). */
  serverCpuPct: number;
  /** CPU used by everything else on the box during the row: well above 0 means the numbers are disturbed. */
  otherCpuPct: number;
}

/** One system at a time: start it fresh, run every row against it, stop it, then the next system. */
export async function runSuite(opts: SuiteOptions): Promise<RowResult[]> {
  const workload = makeWorkload(opts.valueBytes);
  const results: RowResult[] = [];
  for (const system of opts.systems) {
    opts.log(`${system}: starting a fresh one-member server`);
    const target = await startTarget(system);
    try {
      opts.log(`${system}: serving on ${target.endpoint} (pid ${target.pid})`);
      const setupClient = new EtcdClient(target.endpoint);
      try {
        await prepareTarget(setupClient, workload);
      } finally {
        setupClient.close();
      }
      for (const row of opts.rows) results.push(await runRow(target, row, workload, opts));
    } finally {
      await target.stop();
    }
  }
  return results;
}

async function runRow(target: Target, row: Row, workload: Workload, opts: SuiteOptions): Promise<RowResult> {
  const conns = Array.from({ length: row.conns }, () => new EtcdClient(target.endpoint));
  try {
    const op = makeOp(row, workload);
    const tag = `${target.system} ${row.id}`;
    opts.log(`${tag}: ${row.label}, warm-up ${opts.warmupMs / 1000} s`);
    await runClosedLoop({ conns, clients: row.clients, durationMs: opts.warmupMs, op });

    const openConns = ownConnectionsTo(target.port);
    const benchCpuBefore = process.cpuUsage();
    const serverCpuBeforeMs = processCpuMs(target.pid);
    const machineCpuBeforeMs = machineBusyCpuMs();
    const startMs = performance.now();
    let last = { atMs: startMs, done: 0 };
    const load = await runClosedLoop({
      conns, clients: row.clients, durationMs: opts.durationMs, op,
      onProgress: (done) => {
        // Rate over the real time since the last line: a busy event loop fires the timer late.
        const atMs = performance.now();
        const rate = ((done - last.done) * 1000) / (atMs - last.atMs);
        opts.log(`${tag}: ${((atMs - startMs) / 1000).toFixed(1)} s, ${done} requests, ${Math.round(rate)} req/s`);
        last = { atMs, done };
      },
    });
    const benchCpu = process.cpuUsage(benchCpuBefore);
    const serverCpuMs = processCpuMs(target.pid) - serverCpuBeforeMs;
    const benchCpuMs = (benchCpu.user + benchCpu.system) / 1000;
    const otherCpuMs = machineBusyCpuMs() - machineCpuBeforeMs - benchCpuMs - serverCpuMs;

    const result: RowResult = {
      system: target.system,
      row,
      opsPerSec: (load.ok * 1000) / load.elapsedMs,
      ok: load.ok,
      failed: load.failed,
      ...(load.firstError !== undefined && { firstError: load.firstError }),
      latency: summarize(load.latenciesMs),
      conns: openConns,
      benchCpuPct: (benchCpuMs / load.elapsedMs) * 100,
      serverCpuPct: (serverCpuMs / load.elapsedMs) * 100,
      // Clamped: the three counters tick separately, so an idle box can come out a little below 0.
      otherCpuPct: Math.max(0, (otherCpuMs / load.elapsedMs) * 100),
    };
    opts.log(`${tag}: ${Math.round(result.opsPerSec)} ops/s, p50 ${result.latency.p50Ms.toFixed(2)} ms` +
      (load.failed > 0 ? `, ${load.failed} failed (first: ${load.firstError})` : ''));
    return result;
  } finally {
    for (const c of conns) c.close();
  }
}
