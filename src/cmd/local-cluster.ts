#!/usr/bin/env node
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ProcessGroup } from './process-group';

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

const initialCluster = MEMBERS.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(',');
const group = new ProcessGroup(MEMBERS.map((m) => m.name));
mkdirSync(DATA_ROOT, { recursive: true });
for (const m of MEMBERS) {
  group.start(m.name, KEEL_BIN, [
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
  ]);
}
console.log(`keel: three members on 127.0.0.1:2379, :22379, :32379 (data in ${DATA_ROOT}/); Ctrl-C stops them\n` +
  `try:  ETCDCTL_API=3 etcdctl --endpoints=127.0.0.1:2379,127.0.0.1:22379,127.0.0.1:32379 endpoint status -w table`);
