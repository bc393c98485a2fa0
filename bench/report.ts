import { cpus } from 'node:os';
import type { RowResult, SuiteOptions } from './suite';
import type { System } from './targets';

/** One suite run: one cluster size, both systems. */
export interface Run {
  settings: Omit<SuiteOptions, 'log'>;
  results: RowResult[];
}

/**
 * Per cluster size, a heading and two markdown tables: keel against etcd per row, then every
 * measurement per row and system, including the CPU the bench and the servers used, so a reader can
 * tell whether the client was the limit.
 */
export function formatTables(runs: Run[]): string {
  return runs.map(({ settings, results }) =>
    `## ${settings.members === 1 ? 'One member' : `${settings.members} members`}\n\n` +
    `${comparisonTable(results)}\n\n${detailTable(settings.members, results)}\n`).join('\n');
}

/** Everything measured plus the settings that produced it, for scripts comparing runs. */
export function formatJson(runs: Run[]): string {
  return JSON.stringify({ runs }, (_key, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);
}

function comparisonTable(results: RowResult[]): string {
  const header = ['row', 'keel ops/s', 'etcd ops/s', 'ratio (keel/etcd)', 'keel p50/p99 ms', 'etcd p50/p99 ms', 'ratio of p50'];
  const lines = rowIdsInOrder(results).map((id) => {
    const keel = find(results, id, 'keel');
    const etcd = find(results, id, 'etcd');
    return [
      (keel ?? etcd)!.row.label,
      keel ? ops(keel.opsPerSec) : '-',
      etcd ? ops(etcd.opsPerSec) : '-',
      keel && etcd ? ratio(keel.opsPerSec / etcd.opsPerSec) : '-',
      keel ? `${ms(keel.latency.p50Ms)} / ${ms(keel.latency.p99Ms)}` : '-',
      etcd ? `${ms(etcd.latency.p50Ms)} / ${ms(etcd.latency.p99Ms)}` : '-',
      keel && etcd ? ratio(keel.latency.p50Ms / etcd.latency.p50Ms) : '-',
    ];
  });
  return markdown(header, lines, [false, true, true, true, true, true, true]);
}

function detailTable(members: number, results: RowResult[]): string {
  const header = ['row', 'system', 'ops/s', 'ok', 'failed', 'conns', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'elections', 'bench CPU', 'server CPU', 'other CPU'];
  const lines = results.map((r) => [
    r.row.label, r.system, ops(r.opsPerSec), String(r.ok), String(r.failed),
    members === 1 ? String(r.conns) : `${r.conns} (${r.connsPerMember.join('/')})`,
    ms(r.latency.p50Ms), ms(r.latency.p90Ms), ms(r.latency.p99Ms), ms(r.latency.p999Ms), ms(r.latency.maxMs),
    Number.isFinite(r.elections) ? String(r.elections) : '-',
    pct(r.benchCpuPct), pct(r.serverCpuPct), pct(r.otherCpuPct),
  ]);
  const table = markdown(header, lines, [false, false, ...Array<boolean>(13).fill(true)]);
  const errors = results.filter((r) => r.firstError !== undefined).map((r) => `${r.system} ${r.row.id}: first error: ${r.firstError}`);
  const exits = results.filter((r) => r.exitedMembers).map((r) => `${r.system} ${r.row.id}: member(s) exited: ${r.exitedMembers!.join(', ')}`);
  const notes = members === 1 ? [
    'conns: TCP connections the benchmark really had open to the server when the measured phase began.',
    `CPU: % of one core over the row (${cpus().length} cores here, shared by bench and server); other CPU well above 0 means something else on the box disturbed the row.`,
  ] : [
    `conns: TCP connections the benchmark really had open to the cluster when the measured phase began (per member: ${memberNames(members)}).`,
    `CPU: % of one core over the row (${cpus().length} cores here, shared by bench and all ${members} members); server CPU is the sum over the ${members} member processes; other CPU well above 0 means something else on the box disturbed the row.`,
    `leader when the rows began: ${leaders(results)}; puts and linearizable ranges sent to a follower go through it.`,
  ];
  notes.push('elections: Raft terms begun during the row, warm-up included (0 is the goal: heartbeats must not starve behind client work).');
  notes.push(...errors, ...exits);
  return `${table}\n\n${notes.join('\n')}`;
}

function memberNames(members: number): string {
  return Array.from({ length: members }, (_, i) => `m${i + 1}`).join('/');
}

function leaders(results: RowResult[]): string {
  const bySystem = new Map<string, Set<string>>();
  for (const r of results) bySystem.set(r.system, (bySystem.get(r.system) ?? new Set()).add(r.leader));
  return [...bySystem].map(([system, names]) => `${system} ${[...names].join(', then ')}`).join('; ');
}

function rowIdsInOrder(results: RowResult[]): string[] {
  return [...new Set(results.map((r) => r.row.id))];
}

function find(results: RowResult[], id: string, system: System): RowResult | undefined {
  return results.find((r) => r.row.id === id && r.system === system);
}

function markdown(header: string[], lines: string[][], alignRight: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const render = (cells: string[]) =>
    `| ${cells.map((c, i) => (alignRight[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (alignRight[i] ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [render(header), rule, ...lines.map(render)].join('\n');
}

function ops(v: number): string {
  return Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-';
}

/** Three significant digits down to microseconds: 0.412, 1.25, 18.3, 156. */
function ms(v: number): string {
  if (!Number.isFinite(v)) return '-';
  return v >= 100 ? v.toFixed(0) : v.toPrecision(3);
}

function ratio(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(2)}×` : '-';
}

function pct(v: number): string {
  return Number.isFinite(v) ? `${Math.round(v)} %` : '-';
}
