#!/usr/bin/env node
import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * `npm start`: a three-member Keel cluster on 127.0.0.1 in the foreground, laid out as etcd's own
 * Procfile lays out a local cluster (infra1..3, client ports 2379/22379/32379, peer ports
 * 2380/22380/32380), with data under ./data and each log line prefixed by its member.
 * Ctrl-C stops every member cleanly; starting again reuses the data.
 */
const MEMBERS = [
  { name: 'infra1', client: 2379, peer: 2380, metrics: 2381 },
  { name: 'infra2', client: 22379, peer: 22380, metrics: 22381 },
  { name: 'infra3', client: 32379, peer: 32380, metrics: 32381 },
];
const DATA_ROOT = process.env['KEEL_DATA_ROOT'] ?? 'data';
const KEEL_BIN = join(__dirname, 'keel.js');
const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m'];
const RESET = '\x1b[0m';

const initialCluster = MEMBERS.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(',');
const children: ChildProcess[] = [];
let stopping = false;

for (const [i, m] of MEMBERS.entries()) {
  mkdirSync(DATA_ROOT, { recursive: true });
  const child = spawn(process.execPath, [
    KEEL_BIN,
    '--name', m.name,
    '--data-dir', join(DATA_ROOT, m.name),
    '--listen-client-urls', `http://127.0.0.1:${m.client}`,
    '--advertise-client-urls', `http://127.0.0.1:${m.client}`,
    '--listen-peer-urls', `http://127.0.0.1:${m.peer}`,
    '--initial-advertise-peer-urls', `http://127.0.0.1:${m.peer}`,
    '--initial-cluster', initialCluster,
    '--initial-cluster-token', 'etcd-cluster-1',
    '--initial-cluster-state', 'new',
    '--listen-metrics-urls', `http://127.0.0.1:${m.metrics}`,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = process.stdout.isTTY ? `${COLORS[i]}${m.name.padEnd(6)} |${RESET}` : `${m.name.padEnd(6)} |`;
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => console.log(`${prefix} ${readable(line)}`));
  }
  child.on('exit', (code, signal) => {
    console.log(`${prefix} exited (${signal ?? `code ${code}`})`);
    if (children.every((c) => c.exitCode !== null || c.signalCode !== null)) process.exit(stopping ? 0 : 1);
  });
  children.push(child);
}
console.log(`keel: three members on 127.0.0.1:2379, :22379, :32379 (data in ${DATA_ROOT}/); Ctrl-C stops them\n` +
  `try:  ETCDCTL_API=3 etcdctl --endpoints=127.0.0.1:2379,127.0.0.1:22379,127.0.0.1:32379 endpoint status -w table`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping all members...');
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  });
}

/** A JSON log line as "time LEVEL message key=value ..."; anything else as it is. */
function readable(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { level, time, msg, name, ...fields } = rec;
  void name;
  const lvl = ({ 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR' } as Record<string, string>)[String(level)] ?? String(level);
  const rest = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
  return `${String(time).slice(11, 23)} ${lvl.padEnd(5)} ${String(msg)}${rest ? ` ${rest}` : ''}`;
}
