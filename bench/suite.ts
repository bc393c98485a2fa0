import { EtcdClient } from '../src/client/etcd-client';
import { runClosedLoop } from './load';
import { machineBusyCpuMs, ownConnectionsTo } from './proc';
import type { Row } from './rows';
import { LatencySummary, summarize } from './stats';
import { startTarget, System, Target } from './targets';
import { keyOf, LoadOp, makeOp, makeWorkload, prepareTarget, Workload, WorkloadOptions } from './workload';

export interface SuiteOptions {
  systems: System[];
  /** Members of each system's cluster: 1, or 3 (startCluster's m1..m3). */
  members: number;
  rows: Row[];
  /** Measured time of each row on each system (a row also ends after `requests`, if given). */
  durationMs: number;
  requests?: number;
  /** Same load, not measured, before each row: connects channels and warms JITs and caches. */
  warmupMs: number;
  /**
   * Every row's load for this long, unmeasured, on each fresh cluster before the first row: a
   * member's JIT takes thousands of requests to reach its steady state (a single-client put on a
   * new member ran at 600/s in its first second and 1,000/s from the sixth), where etcd has none.
   */
  serverWarmupMs: number;
  workload: WorkloadOptions;
  /** Where progress lines go (stderr), so stdout holds only the result. */
  log: (line: string) => void;
  /** Write each keel member's CPU profile here (when it stops). */
  profileDir?: string;
}

export interface RowResult {
  system: System;
  /** Members of the cluster the row ran against. */
  members: number;
  row: Row;
  opsPerSec: number;
  ok: number;
  failed: number;
  firstError?: string;
  latency: LatencySummary;
  /** TCP connections this process had open to the server (all members) when the measured phase began. */
  conns: number;
  /** The same per member, m1 first. */
  connsPerMember: number[];
  /** The member that led when the row began, e.g. "m2". */
  leader: string;
  /** Raft terms that began during the row (warm-up included): elections, which should be 0 under any load. */
  elections: number;
  /** Members whose process had exited by the end of the row, e.g. "m2 (SIGABRT)". */
  exitedMembers?: string[];
  /** CPU used by this benchmark process during the row, in % of one core: near 100 means the client may be the limit. */
  benchCpuPct: number;
  /** CPU used by the server processes (summed over all members) during the row, in % of one core (can exceed 100: threads). */
  serverCpuPct: number;
  /** CPU used by everything else on the box during the row: well above 0 means the numbers are disturbed. */
  otherCpuPct: number;
}

/**
 * gRPC channel options of every benchmark connection. grpc-js otherwise shares one TCP connection
 * (subchannel) among all channels with the same target and options, so --conns would open just one.
 */
const OWN_CONNECTION = { 'grpc.use_local_subchannel_pool': 1 };

/**
 * Every system started fresh side by side, then each row run on one system after the other (which
 * first alternating from row to row), so that a machine slowing down over minutes (it happens
 * here: 20-30 % within an hour) weighs on both sides of a row's ratio alike; the idle system's
 * heartbeats show under "other CPU". If a row had failures, a member exited or anything threw,
 * that cluster's dir (data and member logs) is kept and named on the log; a member's exit also
 * ends that system's rows.
 */
export async function runSuite(opts: SuiteOptions): Promise<RowResult[]> {
  const workload = makeWorkload(opts.workload);
  const results: RowResult[] = [];
  const running: Array<{ target: Target; trouble: boolean; ended: boolean }> = [];
  try {
    for (const system of opts.systems) {
      opts.log(`${system}: starting a fresh ${opts.members === 1 ? 'one-member server' : `${opts.members}-member cluster`}`);
      const target = await startTarget(system, opts.members, opts.profileDir);
      const one = { target, trouble: true, ended: false };
      running.push(one);
      const pids = target.members.map((m) => m.process.pid).join(', ');
      opts.log(`${system}: serving on ${target.endpoints.join(', ')} (pid ${pids})`);
      const setupClient = new EtcdClient(target.endpoints[await target.leaderIndex()]!);
      try {
        await prepareTarget(setupClient, workload);
      } finally {
        setupClient.close();
      }
      one.trouble = false;
    }
    if (opts.serverWarmupMs > 0) {
      for (const one of running) {
        opts.log(`${one.target.system}: warming up with every row's load, ${opts.serverWarmupMs / 1000} s each, unmeasured`);
        for (const row of opts.rows) {
          await withRowLoad(one.target, row, workload, ({ conns, op }) =>
            runClosedLoop({ conns, clients: row.clients, durationMs: opts.serverWarmupMs, op: op.run }));
        }
      }
    }
    for (const [n, row] of opts.rows.entries()) {
      // Neither system always runs right after the other's load.
      const order = n % 2 === 0 ? running : [...running].reverse();
      const rowResults = new Map<System, RowResult>();
      for (const one of order.filter((r) => !r.ended)) {
        const result = await runRow(one.target, row, workload, opts);
        rowResults.set(one.target.system, result);
        if (result.failed > 0) one.trouble = true;
        if (result.exitedMembers) {
          opts.log(`${one.target.system}: ${result.exitedMembers.join(', ')} exited; skipping this system's remaining rows`);
          one.trouble = true;
          one.ended = true;
        }
      }
      // Reported in the systems' order, whichever ran first.
      for (const system of opts.systems) if (rowResults.has(system)) results.push(rowResults.get(system)!);
    }
  } catch (err) {
    for (const one of running) one.trouble = true;
    throw err;
  } finally {
    for (const { target, trouble } of running) {
      await target.stop(trouble);
      if (trouble) opts.log(`${target.system}: kept ${target.baseDir} (member logs ${target.members.map((m) => `${m.name}.log`).join(', ')})`);
    }
  }
  return results;
}

interface RowLoad {
  conns: EtcdClient[];
  op: LoadOp;
  /** Index of the member that led when the load was set up. */
  leader: number;
  /** Which member connection i goes to. */
  memberOfConn(i: number): number;
}

/**
 * `row`'s load on `target` for `ms`, unmeasured, then the keys it wrote deleted: for a run that is
 * not a row of the suite (etcdctl check perf) on a fresh cluster, whose JIT would otherwise warm up
 * inside the measurement.
 */
export async function warmUpWithRow(target: Target, row: Row, options: WorkloadOptions, ms: number): Promise<void> {
  const workload = makeWorkload(options);
  await withRowLoad(target, row, workload, ({ conns, op }) => runClosedLoop({ conns, clients: row.clients, durationMs: ms, op: op.run }));
  const client = new EtcdClient(target.endpoints[await target.leaderIndex()]!);
  try {
    const last = keyOf(workload, options.keySpace - 1);
    await client.deleteRange({ key: keyOf(workload, 0), range_end: Buffer.concat([last, Buffer.from([0])]) });
  } finally {
    client.close();
  }
}

/** A row's connections and operation, for `use`; closed after. */
async function withRowLoad<T>(target: Target, row: Row, workload: Workload, use: (load: RowLoad) => Promise<T>): Promise<T> {
  const size = target.endpoints.length;
  const leader = await target.leaderIndex();
  // Connection i goes to member i % size (or all to the leader), and client j uses connection j % conns.
  const memberOfConn = (i: number) => (row.spread === 'leader' ? leader : i % size);
  const conns = Array.from({ length: row.conns }, (_, i) =>
    new EtcdClient(target.endpoints[memberOfConn(i)]!, { channelOptions: OWN_CONNECTION }));
  const op = makeOp(row, workload);
  try {
    return await use({ conns, op, leader, memberOfConn });
  } finally {
    op.close();
    for (const c of conns) c.close();
  }
}

async function runRow(target: Target, row: Row, workload: Workload, opts: SuiteOptions): Promise<RowResult> {
  const size = target.endpoints.length;
  const termBefore = await target.raftTerm();
  return withRowLoad(target, row, workload, async ({ conns, op, leader, memberOfConn }) => {
    const tag = `${target.system} ${row.id}`;
    const leaderName = target.members[leader]!.name;
    if (size > 1) {
      const clientsPerMember = target.members.map((_, m) =>
        Array.from({ length: row.clients }, (_c, j) => memberOfConn(j % row.conns)).filter((x) => x === m).length);
      opts.log(`${tag}: leader ${leaderName}; clients per member (${target.members.map((m) => m.name).join('/')}) ${clientsPerMember.join('/')}`);
    }
    opts.log(`${tag}: ${row.label}, warm-up ${opts.warmupMs / 1000} s`);
    await runClosedLoop({ conns, clients: row.clients, durationMs: opts.warmupMs, op: op.run });

    const connsPerMember = target.ports.map((port) => ownConnectionsTo(port));
    const benchCpuBefore = process.cpuUsage();
    const serverCpuBeforeMs = target.serverCpuMs();
    const machineCpuBeforeMs = machineBusyCpuMs();
    const startMs = performance.now();
    let last = { atMs: startMs, done: 0 };
    const load = await runClosedLoop({
      conns, clients: row.clients, durationMs: opts.durationMs, ...(opts.requests !== undefined && { requests: opts.requests }), op: op.run,
      onProgress: (done) => {
        // Rate over the real time since the last line: a busy event loop fires the timer late.
        const atMs = performance.now();
        const rate = ((done - last.done) * 1000) / (atMs - last.atMs);
        opts.log(`${tag}: ${((atMs - startMs) / 1000).toFixed(1)} s, ${done} requests, ${Math.round(rate)} req/s`);
        last = { atMs, done };
      },
    });
    const benchCpu = process.cpuUsage(benchCpuBefore);
    const serverCpuMs = target.serverCpuMs() - serverCpuBeforeMs;
    const benchCpuMs = (benchCpu.user + benchCpu.system) / 1000;
    const otherCpuMs = machineBusyCpuMs() - machineCpuBeforeMs - benchCpuMs - serverCpuMs;
    const exitedMembers = target.exitedMembers();
    const elections = exitedMembers.length > 0 ? NaN : (await target.raftTerm()) - termBefore;

    const result: RowResult = {
      system: target.system,
      members: size,
      row,
      opsPerSec: (load.ok * 1000) / load.elapsedMs,
      ok: load.ok,
      failed: load.failed,
      ...(load.firstError !== undefined && { firstError: load.firstError }),
      latency: summarize(load.latenciesMs),
      conns: connsPerMember.reduce((a, b) => a + b, 0),
      connsPerMember,
      leader: leaderName,
      elections,
      ...(exitedMembers.length > 0 && { exitedMembers }),
      benchCpuPct: (benchCpuMs / load.elapsedMs) * 100,
      serverCpuPct: (serverCpuMs / load.elapsedMs) * 100,
      // Clamped: the three counters tick separately, so an idle box can come out a little below 0.
      otherCpuPct: Math.max(0, (otherCpuMs / load.elapsedMs) * 100),
    };
    opts.log(`${tag}: ${Math.round(result.opsPerSec)} ops/s, p50 ${result.latency.p50Ms.toFixed(2)} ms` +
      (elections > 0 ? `, ${elections} election(s)` : '') +
      (load.failed > 0 ? `, ${load.failed} failed (first: ${load.firstError})` : ''));
    return result;
  });
}
