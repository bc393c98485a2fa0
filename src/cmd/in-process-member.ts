import * as grpc from '@grpc/grpc-js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { EtcdClient } from '../client/etcd-client';
import { KeelServer, ServerConfig } from '../server/keel-server';
import type { RaftNode } from '../server/raft-node';
import { LevelEngine } from '../storage/level-engine';
import { walDirOf } from '../storage/wal';
import { InMemoryNetwork } from '../transport/in-memory-transport';
import { recordingLogger } from '../util/logger';
import { realClock } from '../util/clock';
import { SeededRand } from '../util/rand';
import { startClientServer, stopClientServer } from '../api/grpc-server';

/** A real member in this process: LevelDB in a temp dir, gRPC on a loopback port, a client to it. */
export interface InProcessMember {
  server: KeelServer;
  client: EtcdClient;
  endpoint: string;
  /** Every message the member logged, in order. */
  logs: string[];
  /** The member's metrics. */
  registry: Registry;
  /** The member's storage, for tests that watch or hold its calls. */
  engine: LevelEngine;
  /** The voters this member, as leader, counts active for membership checks; undefined unless it leads. */
  activeVoters(): Set<bigint> | undefined;
  /** Stops everything and removes the data dir. */
  close(): Promise<void>;
}

export const TEST_MEMBER_CONFIG: ServerConfig = {
  name: 'test',
  initialCluster: 'test=http://127.0.0.1:2380',
  initialClusterToken: 'etcd-cluster',
  initialClusterState: 'new',
  initialAdvertisePeerUrls: ['http://127.0.0.1:2380'],
  advertiseClientUrls: ['http://127.0.0.1:2379'],
  maxRequestBytes: 1.5 * 1024 * 1024,
  snapshotCount: 100000,
  // Fast ticks keep elections in the in-process clusters short.
  heartbeatIntervalMs: 10,
  electionTimeoutMs: 100,
  watchProgressNotifyIntervalMs: 10 * 60 * 1000,
  quotaBackendBytes: 0,
  autoCompaction: undefined,
};

export async function startInProcessMember(overrides: Partial<ServerConfig> = {}): Promise<InProcessMember> {
  return startMember({ ...TEST_MEMBER_CONFIG, ...overrides }, new InMemoryNetwork(), 1);
}

/** A one-member cluster started from an existing data dir (a restored snapshot, say); close() removes it. */
export async function startInProcessMemberIn(dataDir: string, overrides: Partial<ServerConfig> = {}): Promise<InProcessMember> {
  return startMember({ ...TEST_MEMBER_CONFIG, ...overrides }, new InMemoryNetwork(), 1, dataDir);
}

/** Members m1..mN of one cluster in this process, joined by an in-memory network that can partition. */
export interface InProcessCluster {
  members: InProcessMember[];
  network: InMemoryNetwork;
  /** The member that currently leads, once one does (polls; fails after `timeoutMs`). */
  leader(timeoutMs?: number): Promise<InProcessMember>;
  /** The peer URL the member of that name has (or would have). */
  peerUrl(name: string): string;
  /**
   * Starts a member that joins the running cluster (after MemberAdd) with
   * --initial-cluster-state existing, and adds it to `members`.
   */
  join(name: string, initialCluster: string): Promise<InProcessMember>;
  close(): Promise<void>;
}

export async function startInProcessCluster(size: number, overrides: Partial<ServerConfig> = {}): Promise<InProcessCluster> {
  const network = new InMemoryNetwork();
  const names = Array.from({ length: size }, (_, i) => `m${i + 1}`);
  // The peer URLs only give each member its ID; the in-memory network carries the messages.
  const peerUrl = (name: string) => `http://127.0.0.1:${12380 + Number(name.replace(/\D/g, ''))}`;
  const initialCluster = names.map((n) => `${n}=${peerUrl(n)}`).join(',');
  const members = await Promise.all(names.map((name, i) => startMember({
    ...TEST_MEMBER_CONFIG, ...overrides, name, initialCluster, initialAdvertisePeerUrls: [peerUrl(name)],
  }, network, i + 1)));
  return {
    members,
    network,
    peerUrl,
    async join(name, joinCluster) {
      const member = await startMember({
        ...TEST_MEMBER_CONFIG, ...overrides, name, initialCluster: joinCluster, initialClusterState: 'existing',
        initialAdvertisePeerUrls: [peerUrl(name)],
      }, network, members.length + 1);
      members.push(member);
      return member;
    },
    async leader(timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const lead = members.find((m) => m.server.leader === m.server.memberId);
        if (lead) return lead;
        if (Date.now() > deadline) throw new Error(`no leader within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async close() {
      await Promise.all(members.map((m) => m.close()));
    },
  };
}

async function startMember(cfg: ServerConfig, network: InMemoryNetwork, seed: number, dataDir?: string): Promise<InProcessMember> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'keel-member-')));
  const engine = await LevelEngine.open(dir);
  const log = recordingLogger();
  const registry = new Registry();
  const server = await KeelServer.start(cfg, {
    engine, walDir: walDirOf(dir), transport: (id) => network.transport(id), discover: (urls) => network.discover(urls), rand: new SeededRand(seed), clock: realClock, log, registry,
  });
  const clientServer = await startClientServer(server, [{ hostPort: '127.0.0.1:0' }], cfg, log);
  const endpoint = `127.0.0.1:${clientServer.ports[0]}`;
  const client = new EtcdClient(endpoint);
  return {
    server, client, endpoint, logs: log.lines, registry, engine,
    activeVoters: () => (server as unknown as { node: RaftNode }).node.activeVoters(),
    async close() {
      client.close();
      await stopClientServer(clientServer);
      await server.stop();
      await engine.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The gRPC status of a failed call, for asserting etcd's code and text. */
export async function failure(call: Promise<unknown>): Promise<{ code: grpc.status; details: string }> {
  try {
    await call;
  } catch (err) {
    const e = err as grpc.ServiceError;
    return { code: e.code, details: e.details };
  }
  throw new Error('call succeeded but was expected to fail');
}
