import type { ChildProcess } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { EtcdClient } from '../../src/client/etcd-client';
import { spawnReaped } from './reaped-spawn';

/** A member process (keel or a real etcd) started for a test or a benchmark, on loopback. */
export interface MemberProcess {
  readonly name: string;
  /** host:port of the client API. */
  readonly endpoint: string;
  /** host:port of the peer API. */
  readonly peerEndpoint: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly process: ChildProcess;
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash: nothing gets to flush. */
  kill9(): Promise<void>;
  /** SIGSTOP / SIGCONT: the process stops answering without losing anything. */
  pause(): void;
  resume(): void;
  /**
   * Starts the same member again (same flags, data dir and ports) once this one has exited;
   * `startTimeoutMs` overrides how long it may take to serve, `extraArgs` go after the old flags.
   */
  restart(changes?: { startTimeoutMs?: number; extraArgs?: string[] }): Promise<MemberProcess>;
}

export interface MemberOptions {
  name?: string;
  /** Where data and the log file go; the data dir is `${baseDir}/${name}.data`. */
  baseDir: string;
  clientPort?: number;
  peerPort?: number;
  /** `--initial-cluster`; a one-member cluster of this member when absent. */
  initialCluster?: string;
  extraArgs?: string[];
  /** Peer URLs with https (the peer TLS flags go in extraArgs). */
  peerTls?: boolean;
  /** Serve clients over TLS (an https client URL); the start-up check connects with these files. */
  clientTls?: { ca: string; cert: string; key: string };
  /** Added to this process's environment (e.g. grpc_proxy, to route its peer traffic through a proxy). */
  env?: Record<string, string>;
  /** Options for node itself, before keel's script (e.g. --cpu-prof); etcd ignores them. */
  nodeArgs?: string[];
  /** How long the member may take to serve before the start counts as failed (default 15 s). */
  startTimeoutMs?: number;
}

export type MemberKind = 'keel' | 'etcd';

/** A whole cluster of one kind, all members started together. */
export interface ClusterProcesses {
  members: MemberProcess[];
  /** Every member's client host:port. */
  endpoints: string[];
  stop(): Promise<void>;
}

/** The compiled keel entry point; tests run from dist/, so it sits beside them. */
export const KEEL_BIN = join(__dirname, '..', '..', 'src', 'cmd', 'keel.js');
/** Debian's etcd-server installs the real etcd here. */
export const ETCD_BIN = '/usr/bin/etcd';

export function startKeel(opts: MemberOptions): Promise<MemberProcess> {
  return startMember(process.execPath, [...(opts.nodeArgs ?? []), KEEL_BIN], opts);
}

export function startEtcd(opts: MemberOptions): Promise<MemberProcess> {
  return startMember(ETCD_BIN, [], opts);
}

/**
 * Starts `size` members of one kind on loopback, members m1..mN under `baseDir`, and resolves
 * once every member serves and one of them reports a leader.
 */
export async function startCluster(kind: MemberKind, baseDir: string, size = 3, extraArgs: string[] = [], nodeArgs: string[] = []): Promise<ClusterProcesses> {
  // freePort() can race with other processes taking the port meanwhile: try again with new ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(kind, join(baseDir, attempt === 1 ? '' : `attempt-${attempt}`), size, extraArgs, nodeArgs);
    } catch (err) {
      if (attempt >= 3 || !(err instanceof PortTakenError)) throw err;
    }
  }
}

async function startClusterOnce(kind: MemberKind, baseDir: string, size: number, extraArgs: string[], nodeArgs: string[]): Promise<ClusterProcesses> {
  const ports = await distinctPorts(size);
  const initialCluster = ports.map((p, i) => `m${i + 1}=http://127.0.0.1:${p.peer}`).join(',');
  const start = kind === 'keel' ? startKeel : startEtcd;
  const started = await Promise.allSettled(ports.map((p, i) => start({
    name: `m${i + 1}`, baseDir, clientPort: p.client, peerPort: p.peer, initialCluster, extraArgs, nodeArgs,
  })));
  const members = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(members.map((m) => m.stop()));
    throw failed.reason;
  }
  const endpoints = members.map((m) => m.endpoint);
  await waitForLeader(endpoints);
  return { members, endpoints, stop: async () => void (await Promise.all(members.map((m) => m.stop()))) };
}

/** Client and peer ports for `size` members, all different (the kernel may hand one out twice). */
export async function distinctPorts(size: number): Promise<Array<{ client: number; peer: number }>> {
  const taken = new Set<number>();
  const next = async () => {
    for (;;) {
      const p = await freePort();
      if (!taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
  };
  const out: Array<{ client: number; peer: number }> = [];
  for (let i = 0; i < size; i++) out.push({ client: await next(), peer: await next() });
  return out;
}

/** A member could not bind a port that was free a moment before. */
export class PortTakenError extends Error {
  override name = 'PortTakenError';
}

/** Resolves with the leader's member ID (hex) once some member reports one; fails after 15 s. */
export async function waitForLeader(endpoints: string[], timeoutMs = 15_000): Promise<string> {
  const clients = endpoints.map((e) => new EtcdClient(e, { commandTimeoutMs: 500 }));
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      for (const c of clients) {
        const leader = await c.status().then((s) => s.leader, () => '0');
        if (leader !== '0') return BigInt(leader).toString(16);
      }
      if (Date.now() > deadline) throw new Error(`no leader among ${endpoints.join(', ')} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    for (const c of clients) c.close();
  }
}

/** A port nobody listens on right now (the kernel's choice). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Ports picked here can be taken before the member binds them (an etcd dialing its own client
 * port takes an ephemeral one, say): a new member whose ports were not given tries again with new
 * ones, in a directory of its own, as startCluster does for a cluster.
 */
async function startMember(command: string, prefixArgs: string[], opts: MemberOptions): Promise<MemberProcess> {
  const fresh = opts.clientPort === undefined && opts.peerPort === undefined && !existsSync(join(opts.baseDir, `${opts.name ?? 'm1'}.data`));
  for (let attempt = 1; ; attempt++) {
    const baseDir = attempt === 1 ? opts.baseDir : join(opts.baseDir, `attempt-${attempt}`);
    try {
      return await startMemberOnce(command, prefixArgs, { ...opts, baseDir });
    } catch (err) {
      if (!fresh || attempt >= 3 || !(err instanceof PortTakenError)) throw err;
    }
  }
}

async function startMemberOnce(command: string, prefixArgs: string[], opts: MemberOptions): Promise<MemberProcess> {
  const name = opts.name ?? 'm1';
  const clientPort = opts.clientPort ?? (await freePort());
  const peerPort = opts.peerPort ?? (await freePort());
  const dataDir = join(opts.baseDir, `${name}.data`);
  const logFile = join(opts.baseDir, `${name}.log`);
  await mkdir(opts.baseDir, { recursive: true });
  const clientUrl = `${opts.clientTls === undefined ? 'http' : 'https'}://127.0.0.1:${clientPort}`;
  const peerUrl = `${opts.peerTls === true ? 'https' : 'http'}://127.0.0.1:${peerPort}`;
  const args = [
    ...prefixArgs,
    '--name', name, '--data-dir', dataDir,
    '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl,
    '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', opts.initialCluster ?? `${name}=${peerUrl}`,
    ...(opts.extraArgs ?? []),
  ];
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawnReaped(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = `127.0.0.1:${clientPort}`;
  try {
    await waitUntilServing(new EtcdClient(endpoint, { commandTimeoutMs: 500, channelOptions: PROMPT_RECONNECT, ...clientCredentials(opts.clientTls) }), exited, logFile,
      opts.startTimeoutMs ?? 15_000);
  } catch (err) {
    child.kill('SIGKILL');
    const log = await readFile(logFile, 'utf8').catch(() => '');
    if (/EADDRINUSE|address already in use/.test(log)) throw new PortTakenError(`${(err as Error).message} (a port was taken)`);
    throw err;
  }
  const signalAndWait = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return {
    name, endpoint, peerEndpoint: `127.0.0.1:${peerPort}`, dataDir, logFile, process: child,
    stop: () => signalAndWait('SIGTERM'),
    kill9: () => signalAndWait('SIGKILL'),
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    restart: async (changes = {}) => {
      await exited;
      return startMember(command, prefixArgs, {
        ...opts, name, clientPort, peerPort,
        ...(changes.startTimeoutMs !== undefined && { startTimeoutMs: changes.startTimeoutMs }),
        extraArgs: [...(opts.extraArgs ?? []), ...(changes.extraArgs ?? [])],
      });
    },
  };
}

/**
 * Channel options of a client polling a member that is still starting. grpc-js waits 1 s, then
 * longer and longer, before reconnecting after a refused connection; that wait, not the member,
 * would then decide when the start is seen to be done.
 */
export const PROMPT_RECONNECT: grpc.ChannelOptions = { 'grpc.initial_reconnect_backoff_ms': 20, 'grpc.max_reconnect_backoff_ms': 100 };

/** Client options that connect over TLS with these files (none: plain text). */
export function clientCredentials(tls: MemberOptions['clientTls']): { credentials?: grpc.ChannelCredentials } {
  if (tls === undefined) return {};
  return { credentials: grpc.credentials.createSsl(readFileSync(tls.ca), readFileSync(tls.key), readFileSync(tls.cert)) };
}

/** Polls Status until the member answers; fails early if the process exits first. */
async function waitUntilServing(client: EtcdClient, exited: Promise<void>, logFile: string, timeoutMs: number): Promise<void> {
  const endpoint = client.endpoint;
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (gone) throw new Error(`member on ${endpoint} exited during start; see ${logFile}`);
      try {
        await client.status();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`member on ${endpoint} did not serve within ${timeoutMs / 1000} s; see ${logFile}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } finally {
    client.close();
  }
}
