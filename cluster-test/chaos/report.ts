import { checkDurability } from './durability-checker';
import type { History, Operation, Outcome } from './history';
import { checkLeases } from './lease-checker';
import { checkLinearizability } from './linearizability';
import { checkRevisions } from './revision-checker';
import { checkWatches } from './watch-checker';

export interface Verdict {
  checker: string;
  passed: boolean;
  problems: string[];
}

/** Every checker over one history; a linearizability search that gave up on a key is not a pass. */
export function runCheckers(h: History): Verdict[] {
  const lin = checkLinearizability(h.ops);
  const linProblems = lin.keys.flatMap((k) => {
    if (k.verdict === 'ok') return [];
    if (k.verdict === 'timeout') return [`${k.key}: search gave up after ${k.steps} steps over ${k.ops} ops`];
    return [`${k.key}: not linearizable; after [${k.prefix.map(opText).join(', ')}] the state is ${k.state}, `
      + `and none of [${k.unplaced.map(opText).join(', ')}] can follow`];
  });
  const verdict = (checker: string, problems: string[]): Verdict => ({ checker, passed: problems.length === 0, problems });
  return [
    verdict('linearizability', linProblems),
    verdict('watch', checkWatches(h)),
    verdict('durability', checkDurability(h)),
    verdict('revisions', checkRevisions(h)),
    verdict('leases', checkLeases(h)),
  ];
}

function opText(op: Operation): string {
  return `#${op.id} ${op.kind} ${JSON.stringify(op.input)}${op.output === undefined ? ` (${op.outcome})` : ` -> ${JSON.stringify(op.output)}`}`;
}

export interface RunReport {
  seed: number;
  durationMs: number;
  history: History;
  /** Watch streams the server cancelled as compacted, resumed from the compaction (each leaves a gap the checker cannot see). */
  watchCompactions: number;
  /** When the workload started, on the history's clock. */
  startMs: number;
  faults: Array<{ kind: string; what: string; atMs: number }>;
  verdicts: Verdict[];
  /** Where logs, data dirs and the history are, when they were kept. */
  keptDir: string | undefined;
}

/** Width of one availability bucket. */
const BUCKET_MS = 5000;
/** Problems printed per checker; the history file has the rest. */
const MAX_PROBLEMS = 15;

export function formatReport(r: RunReport): string {
  const lines: string[] = [];
  const passed = r.verdicts.every((v) => v.passed);
  lines.push(`chaos run, seed ${r.seed}, ${(r.durationMs / 1000).toFixed(0)} s: ${passed ? 'PASSED' : 'FAILED'}`);
  const { ops, watchers, finals } = r.history;
  const byOutcome = count(ops.map((o) => o.outcome));
  lines.push(`operations: ${ops.length} (${(['ok', 'failed', 'unknown'] as Outcome[]).map((o) => `${o} ${byOutcome.get(o) ?? 0}`).join(', ')})`);
  const byKind = count(ops.map((o) => `${o.kind} ${o.outcome}`));
  lines.push(`  by kind: ${[...byKind].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  const faultKinds = count(r.faults.map((f) => f.kind));
  lines.push(`faults: ${r.faults.length} (${[...faultKinds].map(([k, n]) => `${k} ${n}`).join(', ')})`);
  for (const f of r.faults) lines.push(`  ${((f.atMs - r.startMs) / 1000).toFixed(1).padStart(6)} s  ${f.what}`);
  lines.push(`availability (ok operations per ${BUCKET_MS / 1000} s, by completion):`);
  lines.push(`  ${availability(ops, r.startMs).map((n, i) => `${i * BUCKET_MS / 1000}s:${n}`).join(' ')}`);
  const events = watchers.reduce((n, w) => n + w.events.length, 0);
  lines.push(`watch: ${watchers.length} streams on ${new Set(watchers.map((w) => w.start.member)).size} members, ${events} events, `
    + `${watchers.filter((w) => w.end !== undefined).length} read to the fence, ${r.watchCompactions} cancelled as compacted`);
  lines.push(`final: ${finals.map((f) => `${f.member} at revision ${f.revision} with ${f.kvs.length} keys`).join(', ') || 'none recorded'}`);
  lines.push('checkers:');
  for (const v of r.verdicts) {
    lines.push(`  ${v.checker.padEnd(16)} ${v.passed ? 'ok' : `FAILED (${v.problems.length} problems)`}`);
    for (const p of v.problems.slice(0, MAX_PROBLEMS)) lines.push(`    - ${p}`);
    if (v.problems.length > MAX_PROBLEMS) lines.push(`    ... ${v.problems.length - MAX_PROBLEMS} more`);
  }
  if (r.keptDir !== undefined) {
    lines.push(`${passed ? '' : `replay with --seed ${r.seed}; `}logs, data dirs and history.jsonl kept in ${r.keptDir}`);
  }
  return lines.join('\n');
}

/** Ok operations per bucket of run time, by completion time. */
export function availability(ops: readonly Operation[], startMs: number): number[] {
  const buckets: number[] = [];
  for (const op of ops) {
    if (op.outcome !== 'ok') continue;
    const i = Math.max(0, Math.floor((op.completeMs - startMs) / BUCKET_MS));
    while (buckets.length <= i) buckets.push(0);
    buckets[i]!++;
  }
  return buckets;
}

function count(items: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const i of items) m.set(i, (m.get(i) ?? 0) + 1);
  return m;
}
