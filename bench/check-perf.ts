import { spawn } from 'node:child_process';
import { startTarget, type System, type Target } from './targets';

/** Debian's etcd-client installs the real etcdctl here. */
const ETCDCTL = '/usr/bin/etcdctl';
/** etcdctl check perf's loads, from its help: s, m, l, xl. */
export const CHECK_PERF_LOADS = ['s', 'm', 'l', 'xl'] as const;
export type CheckPerfLoad = (typeof CHECK_PERF_LOADS)[number];

export interface CheckPerfResult {
  system: System;
  load: CheckPerfLoad;
  /** etcdctl's verdict: its last line, PASS or FAIL. */
  passed: boolean;
  /** etcdctl's check lines, e.g. "FAIL: Throughput too low: 3812 writes/s", "Stddev too high: 0.127612s". */
  checks: string[];
  /** Raft terms begun during the check. */
  elections: number;
}

/**
 * Per system, a fresh three-member cluster, warmed up (`warmUp`, unmeasured), and the real
 * `etcdctl check perf --load=<load>` against all its members: 60 s of puts at the load's rate from
 * its number of clients, then etcdctl judges throughput (at least 90 % of the rate), the slowest
 * request (under 500 ms) and the spread (stddev under 100 ms).
 */
export async function runCheckPerf(
  systems: readonly System[], load: CheckPerfLoad, warmUp: { run(target: Target): Promise<void>; label: string },
  log: (line: string) => void, profileDir?: string,
): Promise<CheckPerfResult[]> {
  const results: CheckPerfResult[] = [];
  for (const system of systems) {
    log(`${system}: starting a fresh 3-member cluster`);
    const target = await startTarget(system, 3, profileDir);
    let ok = false;
    try {
      const termBefore = await target.raftTerm();
      log(`${system}: warming up: ${warmUp.label}`);
      await warmUp.run(target);
      log(`${system}: etcdctl check perf --load=${load} (60 s)`);
      const output = await runEtcdctl(['check', 'perf', `--load=${load}`, `--endpoints=${target.endpoints.join(',')}`], (seconds) =>
        log(`${system}: check perf running, ${seconds} s`));
      const lines = output.split(/[\r\n]+/).map((l) => l.trim());
      // etcdctl 3.4 words a failed latency check without "FAIL:" ("Slowest request took too long: …",
      // "Stddev too high: …"), and a check can share its line with the end of the progress bar.
      const checks = output.match(/(PASS: |FAIL: |Slowest request took too long: |Stddev too high: )[^\r\n]*/g) ?? [];
      const verdict = lines.filter((l) => l === 'PASS' || l === 'FAIL').pop();
      if (verdict === undefined) throw new Error(`etcdctl check perf gave no verdict:\n${output}`);
      const elections = (await target.raftTerm()) - termBefore;
      results.push({ system, load, passed: verdict === 'PASS', checks, elections });
      log(`${system}: ${verdict}: ${checks.join('; ')}`);
      ok = true;
    } finally {
      await target.stop(!ok);
      if (!ok) log(`${system}: kept ${target.baseDir}`);
    }
  }
  return results;
}

/** Runs etcdctl to its end, reporting the seconds gone every 10 s; rejects with its output if it fails to run. */
function runEtcdctl(args: string[], progress: (seconds: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(ETCDCTL, args, { env: { ...process.env, ETCDCTL_API: '3' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const startedAt = performance.now();
    const timer = setInterval(() => progress(Math.round((performance.now() - startedAt) / 1000)), 10_000);
    child.on('error', (err) => {
      clearInterval(timer);
      reject(err);
    });
    // check perf exits 1 on FAIL with the verdict printed: the caller reads the verdict, not the code.
    child.on('close', () => {
      clearInterval(timer);
      resolve(output);
    });
  });
}

export function formatCheckPerfTable(results: CheckPerfResult[]): string {
  const lines = results.map((r) => `| ${r.system} | ${r.passed ? 'PASS' : 'FAIL'} | ${r.checks.join('<br>')} | ${r.elections} |`);
  const load = results[0]?.load ?? '?';
  return `## etcdctl check perf --load=${load}, 3 members\n\n| system | verdict | checks | elections |\n|---|---|---|--:|\n${lines.join('\n')}\n`;
}
