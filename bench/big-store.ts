import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { PROMPT_RECONNECT } from '../cluster-test/support/member-process';
import { EtcdClient } from '../src/client/etcd-client';
import { runClosedLoop } from './load';
import { startTarget, type System, type Target } from './targets';

/** The rows of issue 7 about a store holding many keys: memory, restart, catch-up of a wiped member. */
export interface BigStoreSettings {
  keys: number;
  valueBytes: number;
  /** Write each keel member's CPU profile here (when it stops). */
  profileDir?: string;
}

export interface BigStoreResult {
  system: System;
  keys: number;
  /** How fast the keys went in (puts per second, in txns of PUTS_PER_TXN). */
  loadPutsPerSec: number;
  /** Resident memory (VmRSS) of each member once every member had applied every key, m1 first. */
  rssMiB: number[];
  /** A follower stopped with SIGTERM and started again: from its start until it serves the newest key. */
  restartMs: number;
  /** The same follower removed, added back empty (a new member) and started: until it serves the newest key. */
  catchUpMs: number;
  /** Raft terms begun from the start of the load to the end of the catch-up. */
  elections: number;
}

/** etcd's default --max-txn-ops is 128; 100 puts a txn keeps well inside it on both systems. */
const PUTS_PER_TXN = 100;
const LOADERS = 16;
/** Written last: a member that serves it (serializably, from its own state) holds every key. */
const MARKER = Buffer.from('bench/big-store-loaded');
/** A member's start with a million keys may take far longer than a fresh one's. */
const START_TIMEOUT_MS = 300_000;

/**
 * Per system, a fresh three-member cluster: load `keys` keys of `valueBytes` bytes, read every
 * member's resident memory, restart a follower, then replace it by an empty member (catch-up from
 * the leader's snapshot), timing both until the follower serves the last key written.
 */
export async function runBigStore(systems: readonly System[], s: BigStoreSettings, log: (line: string) => void): Promise<BigStoreResult[]> {
  const results: BigStoreResult[] = [];
  for (const system of systems) {
    log(`${system}: starting a fresh 3-member cluster`);
    const target = await startTarget(system, 3, s.profileDir);
    let ok = false;
    try {
      results.push(await measure(target, s, log));
      ok = true;
    } finally {
      await target.stop(!ok);
      if (!ok) log(`${system}: kept ${target.baseDir}`);
    }
  }
  return results;
}

async function measure(target: Target, s: BigStoreSettings, log: (line: string) => void): Promise<BigStoreResult> {
  const tag = `${target.system} big store`;
  const termBefore = await target.raftTerm();
  const leader = await target.leaderIndex();
  const conn = new EtcdClient(target.endpoints[leader]!);
  let loadPutsPerSec: number;
  try {
    loadPutsPerSec = await load(conn, s, (line) => log(`${tag}: ${line}`));
    await conn.put({ key: MARKER, value: Buffer.from(String(s.keys)) });
  } finally {
    conn.close();
  }
  for (const m of target.members) await untilServesMarker(m.endpoint, START_TIMEOUT_MS);
  const rssMiB = target.members.map((m) => residentMiB(m.process.pid!));
  log(`${tag}: resident memory per member ${rssMiB.map((r) => `${r} MiB`).join(' / ')}`);

  const follower = (leader + 1) % target.members.length;
  const name = target.members[follower]!.name;
  await target.members[follower]!.stop();
  let startedAt = performance.now();
  target.members[follower] = await target.members[follower]!.restart({ startTimeoutMs: START_TIMEOUT_MS });
  await untilServesMarker(target.members[follower]!.endpoint, START_TIMEOUT_MS);
  const restartMs = performance.now() - startedAt;
  log(`${tag}: ${name} restarted and served the newest key in ${(restartMs / 1000).toFixed(2)} s`);

  await replaceWithEmptyMember(target, follower, leader);
  startedAt = performance.now();
  target.members[follower] = await target.members[follower]!.restart({ startTimeoutMs: START_TIMEOUT_MS, extraArgs: ['--initial-cluster-state', 'existing'] });
  await untilServesMarker(target.members[follower]!.endpoint, START_TIMEOUT_MS);
  const catchUpMs = performance.now() - startedAt;
  log(`${tag}: ${name} replaced by an empty member that caught up in ${(catchUpMs / 1000).toFixed(2)} s`);

  const elections = (await target.raftTerm()) - termBefore;
  return { system: target.system, keys: s.keys, loadPutsPerSec, rssMiB, restartMs, catchUpMs, elections };
}

/** Puts keys big/00000000, big/00000001, … in txns of PUTS_PER_TXN, LOADERS txns in flight; returns puts/s. */
async function load(conn: EtcdClient, s: BigStoreSettings, log: (line: string) => void): Promise<number> {
  const value = Buffer.alloc(s.valueBytes, 'v');
  const txns = Math.ceil(s.keys / PUTS_PER_TXN);
  let nextTxn = 0;
  log(`loading ${s.keys.toLocaleString('en-US')} keys of ${s.valueBytes} bytes`);
  const result = await runClosedLoop({
    conns: [conn],
    clients: LOADERS,
    durationMs: Infinity,
    requests: txns,
    op: (client) => {
      const first = nextTxn++ * PUTS_PER_TXN;
      const count = Math.min(PUTS_PER_TXN, s.keys - first);
      return client.txn({
        success: Array.from({ length: count }, (_, i) => ({ request_put: { key: Buffer.from(`big/${String(first + i).padStart(8, '0')}`), value } })),
      });
    },
    progressIntervalMs: 5000,
    onProgress: (done) => log(`${(done * PUTS_PER_TXN).toLocaleString('en-US')} of ${s.keys.toLocaleString('en-US')} keys`),
  });
  if (result.failed > 0) throw new Error(`${result.failed} load txns failed; first: ${result.firstError}`);
  return (s.keys * 1000) / result.elapsedMs;
}

/**
 * Stops member `index`, removes it from the cluster, deletes its data and adds it back with the same
 * peer URL, as an operator replaces a lost member: restarting a wiped member under its old ID makes
 * both systems' Raft stop with "tocommit(N) is out of range", since the leader remembers its log.
 */
async function replaceWithEmptyMember(target: Target, index: number, leader: number): Promise<void> {
  const member = target.members[index]!;
  await member.stop();
  const admin = new EtcdClient(target.endpoints[leader]!);
  try {
    const { members } = await admin.memberList();
    const old = members.find((m) => m.name === member.name);
    if (old === undefined) throw new Error(`${member.name} is not in the member list`);
    await admin.memberRemove(old.ID);
    await addWhenHealthy(admin, `http://${member.peerEndpoint}`);
  } finally {
    admin.close();
  }
  await rm(member.dataDir, { recursive: true, force: true });
}

/**
 * etcd refuses MemberAdd with "unhealthy cluster" until the members that remain have been connected
 * for its health interval (5 s): ask again until it accepts, for up to a minute.
 */
async function addWhenHealthy(admin: EtcdClient, peerUrl: string): Promise<void> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    try {
      await admin.memberAdd({ peerURLs: [peerUrl] });
      return;
    } catch (err) {
      if (!/unhealthy cluster/.test((err as Error).message) || performance.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function untilServesMarker(endpoint: string, timeoutMs: number): Promise<void> {
  const client = new EtcdClient(endpoint, { commandTimeoutMs: 1000, channelOptions: PROMPT_RECONNECT });
  const deadline = performance.now() + timeoutMs;
  try {
    for (;;) {
      const res = await client.range({ key: MARKER, serializable: true }).catch(() => undefined);
      if (res?.kvs.length === 1) return;
      if (performance.now() > deadline) throw new Error(`${endpoint} did not serve ${MARKER} within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    client.close();
  }
}

function residentMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Math.round(Number(kb) / 1024);
}

export function formatBigStoreTable(results: BigStoreResult[]): string {
  const keel = results.find((r) => r.system === 'keel');
  const etcd = results.find((r) => r.system === 'etcd');
  const rows: Array<[string, (r: BigStoreResult) => number, (v: number) => string]> = [
    ['load (puts/s, txns of 100)', (r) => r.loadPutsPerSec, (v) => Math.round(v).toLocaleString('en-US')],
    ['resident memory, largest member (MiB)', (r) => Math.max(...r.rssMiB), (v) => String(v)],
    ['restart to ready (s)', (r) => r.restartMs / 1000, (v) => v.toFixed(2)],
    ['catch-up of an empty new member (s)', (r) => r.catchUpMs / 1000, (v) => v.toFixed(2)],
    ['elections', (r) => r.elections, (v) => String(v)],
  ];
  const keys = (keel ?? etcd)?.keys.toLocaleString('en-US') ?? '?';
  const lines = rows.map(([label, get, fmt]) => {
    const k = keel && get(keel);
    const e = etcd && get(etcd);
    const ratio = k !== undefined && e !== undefined && e !== 0 ? `${(k / e).toFixed(2)}×` : '-';
    return `| ${label} | ${k === undefined ? '-' : fmt(k)} | ${e === undefined ? '-' : fmt(e)} | ${ratio} |`;
  });
  const perMember = results.map((r) => `${r.system} ${r.rssMiB.join(' / ')} MiB`).join('; ');
  return `## ${keys} keys on 3 members\n\n| row | keel | etcd | keel ÷ etcd |\n|---|--:|--:|--:|\n${lines.join('\n')}\n\n` +
    `resident memory per member (m1/m2/m3): ${perMember}\n`;
}
