import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemberProcess, startCluster } from '../cluster-test/support/member-process';
import { EtcdClient } from '../src/client/etcd-client';
import { processCpuMs } from './proc';

export const SYSTEMS = ['keel', 'etcd'] as const;
export type System = (typeof SYSTEMS)[number];

/** A fresh cluster (one or more members) of one system, on loopback, in its own temporary dir. */
export interface Target {
  system: System;
  /** Members m1..mN, in that order. */
  members: MemberProcess[];
  /** Every member's client host:port, members' order. */
  endpoints: string[];
  /** Every member's client port, members' order. */
  ports: number[];
  /** Where the data dirs and the member logs (m1.log, ...) are. */
  baseDir: string;
  /** CPU time (ms) all member processes together have used so far: the server CPU of a cluster. */
  serverCpuMs(): number;
  /** The members whose process has exited, e.g. "m2 (exit code 1)"; empty while all run. */
  exitedMembers(): string[];
  /** The highest Raft term any member reports: it grows by one with every election. */
  raftTerm(): Promise<number>;
  /** Index into `members` of the leader, asked of the members one by one. */
  leaderIndex(): Promise<number>;
  /** SIGTERM every member, wait for the exits, then delete the dir unless `keepDir`. */
  stop(keepDir?: boolean): Promise<void>;
}

/**
 * Starts `size` members (m1..mN, resolved once there is a leader) in a new temp dir so no run
 * inherits another's data. If they fail to start, the dir is left in place: the error names a log file.
 */
export async function startTarget(system: System, size: number, profileDir?: string): Promise<Target> {
  const baseDir = await mkdtemp(join(tmpdir(), `keel-bench-${system}-`));
  // Node writes a member's CPU profile when it exits (keel exits on SIGTERM); etcd is not profiled.
  const cluster = await startCluster(system, baseDir, size, [], profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]);
  const { members, endpoints } = cluster;
  return {
    system,
    members,
    endpoints,
    ports: endpoints.map((e) => Number(e.slice(e.lastIndexOf(':') + 1))),
    baseDir,
    // NaN once a member has exited: its /proc entry is gone, and a sum without it would mislead.
    serverCpuMs: () => members.reduce((sum, m) => sum + cpuMsOrNaN(m.process.pid!), 0),
    exitedMembers: () => members
      .filter((m) => m.process.exitCode !== null || m.process.signalCode !== null)
      .map((m) => `${m.name} (${m.process.signalCode ?? `exit code ${m.process.exitCode}`})`),
    leaderIndex: () => leaderIndex(endpoints),
    raftTerm: () => highestTerm(endpoints),
    stop: async (keepDir = false) => {
      await cluster.stop();
      if (!keepDir) await rm(baseDir, { recursive: true, force: true });
    },
  };
}

function cpuMsOrNaN(pid: number): number {
  try {
    return processCpuMs(pid);
  } catch {
    return NaN;
  }
}

async function highestTerm(endpoints: string[]): Promise<number> {
  const clients = endpoints.map((e) => new EtcdClient(e, { commandTimeoutMs: 2000 }));
  try {
    const statuses = await Promise.all(clients.map((c) => c.status()));
    return Math.max(...statuses.map((s) => Number(s.raftTerm)));
  } finally {
    for (const c of clients) c.close();
  }
}

/** Asks the members for the leader and finds which of them it is; fails if none knows within 10 s. */
async function leaderIndex(endpoints: string[]): Promise<number> {
  if (endpoints.length === 1) return 0;
  const clients = endpoints.map((e) => new EtcdClient(e, { commandTimeoutMs: 1000 }));
  const deadline = Date.now() + 10_000;
  try {
    for (;;) {
      const statuses = await Promise.all(clients.map((c) => c.status().catch(() => undefined)));
      const leader = statuses.find((s) => s && s.leader !== '0')?.leader;
      const index = statuses.findIndex((s) => s?.header?.member_id === leader);
      if (leader !== undefined && index >= 0) return index;
      if (Date.now() > deadline) throw new Error(`no member of ${endpoints.join(', ')} is a known leader`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    for (const c of clients) c.close();
  }
}
