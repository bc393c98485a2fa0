import type { Message, NodeId } from '../raft/types';
import { ClusterInfo, PeerTransport, SnapshotIntake, TransportReceiver } from './transport';

/**
 * Members in one process, for tests: messages are delivered asynchronously (as over a socket),
 * and links can be cut to make partitions.
 */
export class InMemoryNetwork {
  private readonly receivers = new Map<NodeId, TransportReceiver>();
  private readonly cut = new Set<string>();
  /** Snapshots to a member wait here while a test holds them. */
  private readonly snapshotHolds = new Map<NodeId, Hold>();
  /** Lease questions a member forwards wait here while a test holds them. */
  private readonly leaseHolds = new Map<NodeId, Hold>();
  private readonly deliveryWaiters: Array<{ type: Message['type']; to: NodeId; resolve(): void }> = [];
  /** Kinds of message lost on every link, as a test asked. */
  private readonly lostTypes = new Set<Message['type']>();

  transport(id: NodeId): PeerTransport {
    return {
      send: (msgs) => {
        for (const m of msgs) if (!this.lostTypes.has(m.type)) setImmediate(() => this.deliver(id, m));
      },
      sendSnapshot: async (m, state) => {
        await waitOut(this.snapshotHolds.get(m.to));
        const intake = this.receivers.get(m.to)?.snapshotIntake(m);
        for await (const piece of state) await intake?.add(Buffer.from(piece));
        this.deliver(id, m, intake);
      },
      attach: (r) => {
        this.receivers.set(id, r);
      },
      forwardLease: async (to, req) => {
        await waitOut(this.leaseHolds.get(id));
        return this.reachable(id, to).leaseRequest(req);
      },
      learnerReady: async (to, learner) => this.reachable(id, to).learnerReady(learner),
      activeVoters: async (to) => {
        const active = this.reachable(id, to).activeVoters();
        if (active === undefined) throw new Error(`member ${to.toString(16)} is not the leader`);
        return active;
      },
      // Messages are routed by member ID; there are no addresses to keep.
      setPeer: () => {},
      removePeer: () => {},
      close: async () => {
        this.receivers.delete(id);
      },
    };
  }

  /** What a joining member learns from whichever member here lists one of these peer URLs. */
  async discover(peerURLs: string[]): Promise<ClusterInfo> {
    for (const r of this.receivers.values()) {
      const info = r.clusterInfo();
      if (info.members.some((m) => m.peerURLs.some((u) => peerURLs.includes(u)))) return info;
    }
    throw new Error(`no member answers at ${peerURLs.join(',')}`);
  }

  isolate(id: NodeId): void {
    for (const other of this.receivers.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}-${other}`);
      this.cut.add(`${other}-${id}`);
    }
  }

  /** The member `to`, as `from` asks it a question; throws if it is gone or the link is cut. */
  private reachable(from: NodeId, to: NodeId): TransportReceiver {
    const target = this.receivers.get(to);
    if (target === undefined || this.cut.has(`${from}-${to}`)) throw new Error(`member ${to.toString(16)} is unreachable`);
    return target;
  }

  /** Loses every message from `from` to `to` (one way) until heal(). */
  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}-${to}`);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Holds the snapshots sent to `to` until `release()`; `sent` resolves once one is held. */
  holdSnapshots(to: NodeId): HeldTraffic {
    return hold(this.snapshotHolds, to);
  }

  /** Holds the lease questions `from` forwards to the leader until `release()`; `sent` resolves once one is held. */
  holdLeaseForwards(from: NodeId): HeldTraffic {
    return hold(this.leaseHolds, from);
  }

  /** Loses every message of `type` (not a snapshot: those have holdSnapshots) until the returned function is called. */
  lose(type: Message['type']): () => void {
    this.lostTypes.add(type);
    return () => this.lostTypes.delete(type);
  }

  /** Resolves once a message of `type` has been delivered to `to`. */
  delivered(type: Message['type'], to: NodeId): Promise<void> {
    return new Promise((resolve) => this.deliveryWaiters.push({ type, to, resolve }));
  }

  /** Hands `m` to its receiver, a snapshot's state in the `intake` it went to. */
  private deliver(from: NodeId, m: Message, intake?: SnapshotIntake): void {
    const sender = this.receivers.get(from);
    const to = this.receivers.get(m.to);
    const reachable = to !== undefined && !this.cut.has(`${from}-${m.to}`);
    const delivered = reachable && !to.isRemoved(from);
    let refused: string | undefined;
    if (!delivered) intake?.drop();
    else if (intake !== undefined) refused = to.snapshotArrived(m, intake);
    else to.receive(m);
    if (delivered) this.notifyDelivered(m);
    if (!delivered && reachable) sender?.removed();
    else if (!delivered) sender?.unreachable(m.to);
    if (m.type === 'MsgSnap') sender?.snapshotSent(m.to, !reachable || refused !== undefined);
  }

  private notifyDelivered(m: Message): void {
    for (let i = this.deliveryWaiters.length - 1; i >= 0; i--) {
      const w = this.deliveryWaiters[i]!;
      if (w.type === m.type && w.to === m.to) {
        this.deliveryWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }
}

/** What a test holds back: `sent` resolves once something is held, `release()` lets all of it go. */
export interface HeldTraffic {
  sent: Promise<void>;
  release(): void;
}

interface Hold {
  sent(): void;
  released: Promise<void>;
}

function hold(holds: Map<NodeId, Hold>, key: NodeId): HeldTraffic {
  let sent!: () => void;
  let release!: () => void;
  const wasSent = new Promise<void>((resolve) => { sent = resolve; });
  const released = new Promise<void>((resolve) => { release = resolve; });
  holds.set(key, { sent, released });
  return {
    sent: wasSent,
    release: () => {
      holds.delete(key);
      release();
    },
  };
}

/** Waits while `held` holds this piece of traffic back. */
async function waitOut(held: Hold | undefined): Promise<void> {
  if (held === undefined) return;
  held.sent();
  await held.released;
}
