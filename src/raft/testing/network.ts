import { SeededRand } from '../../util/rand';
import { RaftConfig } from '../config';
import { ConfChange } from '../conf-change';
import { Message, NodeId } from '../types';
import { SimNode } from './sim-node';

/**
 * A synchronous network of SimNodes for protocol tests, as etcd's raft_test `network`: messages
 * are delivered in order until none are left; links can be cut, nodes isolated, types dropped.
 */
export class Network {
  readonly nodes = new Map<NodeId, SimNode>();
  private readonly cut = new Set<string>();
  private readonly ignored = new Set<Message['type']>();
  /** Every message delivered, for assertions about what went over the wire. */
  readonly delivered: Message[] = [];

  private readonly rand: SeededRand;

  constructor(ids: NodeId[], seed = 1, private readonly overrides: Partial<RaftConfig> = {}) {
    this.rand = new SeededRand(seed);
    for (const id of ids) this.nodes.set(id, new SimNode(id, ids, this.rand, overrides));
  }

  /** Starts a node that knows no configuration: it waits to hear from a leader that added it. */
  addNode(id: NodeId): SimNode {
    const node = new SimNode(id, [], this.rand, this.overrides);
    this.nodes.set(id, node);
    return node;
  }

  proposeConfChange(id: NodeId, cc: ConfChange): void {
    this.node(id).node.proposeConfChange(cc);
    this.stabilize();
  }

  node(id: NodeId): SimNode {
    return this.nodes.get(id)!;
  }

  /** Delivers messages, and all they cause, until the network is quiet. */
  stabilize(): void {
    for (let rounds = 0; rounds < 10_000; rounds++) {
      const msgs: Message[] = [];
      for (const n of this.nodes.values()) if (n.up) msgs.push(...n.processReady());
      if (msgs.length === 0) return;
      for (const m of msgs) this.deliver(m);
    }
    throw new Error('network did not stabilize');
  }

  deliver(m: Message): void {
    const to = this.nodes.get(m.to);
    if (to === undefined || !to.up || this.ignored.has(m.type) || this.cut.has(`${m.from}-${m.to}`)) return;
    this.delivered.push(m);
    try {
      to.node.step(m);
    } catch (err) {
      // A proposal forwarded to a node that lost its leader is dropped, as is a reply from a
      // member this node no longer tracks, as over a real network.
      if ((err as Error).name !== 'ProposalDroppedError' && (err as Error).name !== 'StepPeerNotFoundError') throw err;
    }
  }

  /** Ticks every live node `n` times, stabilizing after each tick. */
  tick(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const node of this.nodes.values()) if (node.up) node.node.tick();
      this.stabilize();
    }
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}-${other}`);
      this.cut.add(`${other}-${id}`);
    }
  }

  cutLink(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}-${b}`);
    this.cut.add(`${b}-${a}`);
  }

  ignore(t: Message['type']): void {
    this.ignored.add(t);
  }

  recover(): void {
    this.cut.clear();
    this.ignored.clear();
  }

  leaders(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.up && n.node.raft.state === 'leader');
  }

  /** Campaigns `id` and lets the election finish. */
  elect(id: NodeId): void {
    this.node(id).node.campaign();
    this.stabilize();
  }

  propose(id: NodeId, data: string): void {
    this.node(id).node.propose(Buffer.from(data));
    this.stabilize();
  }
}
