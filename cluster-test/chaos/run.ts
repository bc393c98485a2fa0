import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../../src/util/eventually';
import { waitForLeader } from '../support/member-process';
import { ChaosCluster } from './cluster';
import { runFault } from './faults';
import { jsonLinesSink, monotonicMs, Recorder } from './history';
import { formatReport, runCheckers, Verdict } from './report';
import { FaultKind, FaultSchedule } from './schedule';
import { MemberWatcher } from './watchers';
import { b, DEFAULT_WORKLOAD, rev, Workload, WorkloadOptions } from './workload';

export interface ChaosOptions {
  seed: number;
  /**
   * How long faults are injected under load (longer if needed to inject every kind once);
   * settling and checking come after.
   */
  durationMs: number;
  faults: readonly FaultKind[];
  members?: number;
  workload?: Partial<WorkloadOptions>;
  /** Keep the run's directory even when every checker passed. */
  keep?: boolean;
  /** Where the run's directory is made (the system temp dir by default). */
  parentDir?: string;
  /** Gets a progress line every `progressEveryMs`. */
  progress?: (line: string) => void;
  progressEveryMs?: number;
}

export interface ChaosResult {
  passed: boolean;
  verdicts: Verdict[];
  /** Faults injected per kind. */
  faults: Map<FaultKind, number>;
  ops: number;
  report: string;
  /** The run's directory (logs, data dirs, history.jsonl), if it was kept. */
  keptDir: string | undefined;
}

/** Time the cluster gets to settle after the last fault: a wiped member may still be catching up. */
const SETTLE_TIMEOUT_MS = 60_000;
/** Load without faults at the start, so the availability report has a baseline. */
const CALM_START_MS = 2000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * One chaos run: a Keel cluster of real processes behind the peer proxy, watchers on every member,
 * the recorded workload, and faults from the seeded schedule for `durationMs`. Then every fault is
 * healed, leases are revoked, a fence write marks the end, each watcher and member is read to it,
 * and the checkers judge the history. Everything started here is stopped before it returns.
 */
export async function runChaos(opts: ChaosOptions): Promise<ChaosResult> {
  const dir = await mkdtemp(join(opts.parentDir ?? tmpdir(), `keel-chaos-${opts.seed}-`));
  const historyFile = jsonLinesSink(join(dir, 'history.jsonl'));
  const recorder = new Recorder(historyFile.sink);
  const workloadOpts = { ...DEFAULT_WORKLOAD, ...opts.workload };
  const faults: Array<{ kind: FaultKind; what: string; atMs: number }> = [];
  const runErrors: string[] = [];
  let cluster: ChaosCluster | undefined;
  let workload: Workload | undefined;
  let watchers: MemberWatcher[] = [];
  let progress: NodeJS.Timeout | undefined;
  /** When the load began (reset once the cluster is up): the zero of progress lines and the report. */
  let startMs = monotonicMs();
  try {
    cluster = await ChaosCluster.start(dir, opts.members ?? 3);
    const names = cluster.names();
    watchers = names.map((n) => new MemberWatcher(recorder, n, cluster!.endpoint(n)));
    for (const w of watchers) w.start();
    workload = new Workload(recorder, new Map(names.map((n) => [n, cluster!.endpoint(n)])), opts.seed, workloadOpts);
    workload.start();
    startMs = monotonicMs();
    let current = 'none';
    const w = workload;
    progress = setInterval(() => opts.progress?.(
      `[${((monotonicMs() - startMs) / 1000).toFixed(0).padStart(4)} s] ops ok ${w.counts.ok} failed ${w.counts.failed} unknown ${w.counts.unknown}; faults ${faults.length}; now: ${current}`,
    ), opts.progressEveryMs ?? 5000);
    const schedule = new FaultSchedule(opts.seed, opts.faults, names.length);
    const end = Date.now() + opts.durationMs;
    await sleep(Math.min(CALM_START_MS, opts.durationMs / 10));
    // Past the duration only to finish a round: every allowed kind is injected at least once.
    const injected = new Set<FaultKind>();
    while (Date.now() < end || injected.size < opts.faults.length) {
      const step = schedule.next();
      await runFault(cluster, step, (what) => {
        current = what;
        faults.push({ kind: step.kind, what, atMs: monotonicMs() });
      });
      injected.add(step.kind);
      current = 'none';
      await sleep(step.gapMs);
    }
    await workload.stop();
    await settle(cluster, recorder, workload, watchers, workloadOpts.clients + workloadOpts.leaseClients);
  } catch (err) {
    runErrors.push(`the run stopped early: ${(err as Error).stack ?? String(err)}`);
  } finally {
    clearInterval(progress);
    await workload?.stop();
    workload?.close();
    for (const w of watchers) w.stop();
    await cluster?.stop();
    await historyFile.close();
  }
  const history = recorder.history();
  const crashes = cluster?.crashes ?? [];
  const verdicts = [
    ...(runErrors.length > 0 ? [{ checker: 'run', passed: false, problems: runErrors }] : []),
    // A member is only ever stopped by the runner: one that exits by itself hit a fatal error.
    { checker: 'no crashes', passed: crashes.length === 0, problems: crashes },
    ...runCheckers(history),
  ];
  const passed = verdicts.every((v) => v.passed);
  const keptDir = passed && !opts.keep ? undefined : dir;
  if (keptDir === undefined) await rm(dir, { recursive: true, force: true });
  const watchCompactions = watchers.reduce((n, w) => n + w.compactions, 0);
  const report = formatReport({ seed: opts.seed, durationMs: opts.durationMs, history, watchCompactions, startMs, faults, verdicts, keptDir });
  const byKind = new Map<FaultKind, number>();
  for (const f of faults) byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
  return { passed, verdicts, faults: byKind, ops: history.ops.length, report, keptDir };
}

/**
 * Brings the run to an end the checkers can judge: every lease revoked (no key may vanish while
 * the members are read), a fence write after everything, every watcher and member caught up to
 * it, and each member's data recorded as read from that member alone (serializable).
 */
async function settle(cluster: ChaosCluster, recorder: Recorder, workload: Workload, watchers: MemberWatcher[], client: number): Promise<void> {
  const names = cluster.names();
  await waitForLeader(cluster.endpoints(), SETTLE_TIMEOUT_MS);
  await eventually('every lease is revoked', async () => {
    const { leases } = await cluster.withClient((c) => c.leaseLeases());
    for (const { ID } of leases) {
      await workload.run(client, names[0]!, '', 'lease-revoke', { lease: ID }, async (c) => ({ output: {}, revision: rev((await c.leaseRevoke({ ID })).header) }));
    }
    return leases.length === 0;
  }, SETTLE_TIMEOUT_MS, 200);
  let fence: number | undefined;
  for (let attempt = 0; fence === undefined; attempt++) {
    if (attempt > 20) throw new Error('the fence write did not commit');
    const value = `fence.${attempt}`;
    await workload.run(client, names[attempt % names.length]!, 'fence', 'put', { value }, async (c) => {
      const revision = rev((await c.put({ key: b('fence'), value: b(value) })).header);
      fence = revision;
      return { output: {}, revision };
    });
  }
  const fenceRev = fence;
  await Promise.all(watchers.map((w) => w.completeTo(fenceRev, SETTLE_TIMEOUT_MS)));
  for (const name of names) {
    await eventually(`${name} applies the fence at revision ${fenceRev}`, () => cluster.withClient(async (c) => {
      const r = await c.range({ key: b('fence'), serializable: true });
      return Number(r.header!.revision) >= fenceRev;
    }, [cluster.endpoint(name)]), SETTLE_TIMEOUT_MS, 100);
    await cluster.withClient(async (c) => {
      const r = await c.range({ key: b('\u0000'), range_end: b('\u0000'), serializable: true });
      recorder.final(name, Number(r.header!.revision), r.kvs.map((kv) => ({
        key: kv.key.toString(), value: kv.value.toString(), modRevision: Number(kv.mod_revision), lease: kv.lease,
      })));
    }, [cluster.endpoint(name)]);
  }
}
