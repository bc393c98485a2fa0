import type { ServiceError } from '@grpc/grpc-js';
import { rm } from 'node:fs/promises';
import { EtcdClient } from '../../src/client/etcd-client';
import { eventually } from '../../src/util/eventually';
import { freePort, MemberProcess, startKeel, waitForLeader } from '../support/member-process';
import { PeerProxy } from './peer-proxy';

/**
 * Election settings of the members: etcd's defaults, which a shared 2-core machine can keep up
 * with. A small snapshot count trims the log within a short run, so a wiped member catches up
 * by snapshot (Keel keeps 5000 entries behind each snapshot) rather than from the whole log.
 */
const MEMBER_ARGS = ['--heartbeat-interval', '100', '--election-timeout', '1000', '--snapshot-count', '1000'];

interface Slot {
  name: string;
  clientPort: number;
  peerPort: number;
  proxyPort: number;
  /** The running process; undefined between a stop and the next start. */
  process: MemberProcess | undefined;
  paused: boolean;
  /** Set while the runner stops or kills it: any other exit is a crash. */
  stopping: boolean;
}

/**
 * A Keel cluster of real processes whose peer traffic all goes through one PeerProxy. Members keep
 * their name and ports for the whole run (a wiped member comes back under both), so a name always
 * means the same client endpoint and the same proxy links.
 */
export class ChaosCluster {
  /** Members that exited by themselves (a fatal error in Keel), with where to read why. */
  readonly crashes: string[] = [];

  private constructor(readonly baseDir: string, readonly proxy: PeerProxy, private readonly slots: Slot[]) {}

  static async start(baseDir: string, size: number): Promise<ChaosCluster> {
    const proxy = new PeerProxy();
    const slots: Slot[] = [];
    const ports = new Set<number>();
    // The kernel may hand the same free port out twice.
    const port = async () => {
      for (;;) {
        const p = await freePort();
        if (ports.has(p)) continue;
        ports.add(p);
        return p;
      }
    };
    for (let i = 1; i <= size; i++) {
      const name = `m${i}`;
      const slot: Slot = { name, clientPort: await port(), peerPort: await port(), proxyPort: await proxy.listenFor(name), process: undefined, paused: false, stopping: false };
      proxy.setPeerPort(name, slot.peerPort);
      slots.push(slot);
    }
    const cluster = new ChaosCluster(baseDir, proxy, slots);
    try {
      await Promise.all(slots.map((s) => cluster.launch(s, 'new')));
      await waitForLeader(cluster.endpoints());
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  names(): string[] {
    return this.slots.map((s) => s.name);
  }

  endpoint(name: string): string {
    return `127.0.0.1:${this.slot(name).clientPort}`;
  }

  endpoints(): string[] {
    return this.slots.map((s) => this.endpoint(s.name));
  }

  /** The name of the member that leads now, by asking the members that answer. */
  async leader(): Promise<string> {
    const id = await waitForLeader(this.endpoints());
    return this.withClient(async (c) => {
      const list = await c.memberList();
      const m = list.members.find((x) => BigInt(x.ID).toString(16) === id);
      if (!m) throw new Error(`leader ${id} is not in the member list`);
      return m.name;
    });
  }

  async kill9(name: string): Promise<void> {
    const s = this.slot(name);
    s.stopping = true;
    this.resumeSlot(s);
    await s.process?.kill9();
  }

  async stopMember(name: string): Promise<void> {
    const s = this.slot(name);
    s.stopping = true;
    this.resumeSlot(s);
    await s.process?.stop();
  }

  /** Starts a stopped member again on its data dir. */
  async restart(name: string): Promise<void> {
    const s = this.slot(name);
    this.watch(s, await s.process!.restart());
  }

  pause(name: string): void {
    const s = this.slot(name);
    s.process?.pause();
    s.paused = true;
  }

  resume(name: string): void {
    this.resumeSlot(this.slot(name));
  }

  /**
   * A member that lost its disk: stop it, remove it from the cluster, delete its data dir, add it
   * back under the same name and peer URL, and start it empty with --initial-cluster-state
   * existing, so it catches up from the others (by snapshot once the log was trimmed).
   */
  async wipe(name: string): Promise<void> {
    const s = this.slot(name);
    await this.stopMember(name);
    const others = this.slots.filter((o) => o !== s).map((o) => this.endpoint(o.name));
    const peerUrl = this.peerUrl(s);
    // Membership changes need a healthy quorum, which a fault just healed may not have yet, so
    // each step is retried. A member's list can lag, so only what it cannot show early counts:
    // the member missing from a list means the removal was applied; an add refused because the
    // peer URL is taken, after that, means an earlier try of this add was.
    const listed = (c: EtcdClient) => c.memberList().then((l) => l.members.find((m) => m.peerURLs.includes(peerUrl)));
    await eventually(`${name} is removed from the cluster`, () => this.withClient(async (c) => {
      const me = await listed(c);
      if (me) await c.memberRemove(me.ID).catch(() => {});
      return me === undefined;
    }, others), 60_000, 500);
    await rm(s.process!.dataDir, { recursive: true, force: true });
    await eventually(`${name} is added back`, () => this.withClient(async (c) => {
      try {
        await c.memberAdd({ peerURLs: [peerUrl] });
      } catch (err) {
        if ((err as ServiceError).details !== 'etcdserver: Peer URLs already exists') throw err;
      }
      return true;
    }, others), 60_000, 500);
    // The new member learns the cluster from whichever peer answers it first: all must know of it.
    for (const e of others) {
      await eventually(`${e} lists ${name} again`, () => this.withClient(async (c) => (await listed(c)) !== undefined, [e]), 60_000, 200);
    }
    await this.launch(s, 'existing');
  }

  /** Kills every member (resuming paused ones first, so they can be reaped) and closes the proxy. */
  async stop(): Promise<void> {
    await Promise.all(this.slots.map(async (s) => {
      s.stopping = true;
      this.resumeSlot(s);
      await s.process?.kill9();
    }));
    await this.proxy.close();
  }

  /** Runs `fn` against the first of `endpoints` that answers it. */
  async withClient<T>(fn: (c: EtcdClient) => Promise<T>, endpoints = this.endpoints()): Promise<T> {
    let last: unknown;
    for (const e of endpoints) {
      const c = new EtcdClient(e, { commandTimeoutMs: 3000 });
      try {
        return await fn(c);
      } catch (err) {
        last = err;
      } finally {
        c.close();
      }
    }
    throw last;
  }

  private async launch(s: Slot, state: 'new' | 'existing'): Promise<void> {
    this.watch(s, await startKeel({
      name: s.name, baseDir: this.baseDir, clientPort: s.clientPort, peerPort: s.peerPort,
      initialCluster: this.slots.map((o) => `${o.name}=${this.peerUrl(o)}`).join(','),
      extraArgs: [...MEMBER_ARGS, '--initial-cluster-state', state],
      // Every channel the member opens (to its peers) goes through its own proxy port; emptied
      // no_proxy lists, or an inherited "127.0.0.1" in them would route around the proxy.
      env: { grpc_proxy: `http://127.0.0.1:${s.proxyPort}`, no_grpc_proxy: '', no_proxy: '' },
    }));
  }

  private watch(s: Slot, p: MemberProcess): void {
    s.process = p;
    s.stopping = false;
    p.process.once('exit', (code, signal) => {
      if (!s.stopping) this.crashes.push(`${s.name} exited by itself (${signal ?? `code ${code}`}); see ${p.logFile}`);
    });
  }

  private peerUrl(s: Slot): string {
    return `http://127.0.0.1:${s.peerPort}`;
  }

  private resumeSlot(s: Slot): void {
    if (!s.paused) return;
    s.process?.resume();
    s.paused = false;
  }

  private slot(name: string): Slot {
    const s = this.slots.find((x) => x.name === name);
    if (!s) throw new Error(`no member ${name}`);
    return s;
  }
}
