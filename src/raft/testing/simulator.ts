import { SeededRand } from '../../util/rand';
import { Message, NodeId } from '../types';
import { InvariantChecker, InvariantViolation } from './invariants';
import { SimNode } from './sim-node';

export interface SimulationOptions {
  seed: number;
  nodes: number;
  /** Ticks with faults on; then faults stop and the cluster must make progress. */
  faultTicks: number;
  /** Ticks the fault-free phase may take to elect a leader and commit a new entry. */
  livenessTicks: number;
  dropRate: number;
  duplicateRate: number;
  /** Messages are delayed 0..maxDelayTicks ticks, which also reorders them. */
  maxDelayTicks: number;
  /** Per tick: chance that the network splits in two (or heals, if split). */
  partitionRate: number;
  /** Per tick and node: chance to crash, losing all that was not persisted. */
  crashRate: number;
  proposeRate: number;
  /** Per tick and node: chance to snapshot and compact its log. */
  compactRate: number;
}

export const DEFAULT_SIMULATION: Omit<SimulationOptions, 'seed'> = {
  nodes: 3, faultTicks: 400, livenessTicks: 300, dropRate: 0.05, duplicateRate: 0.02, maxDelayTicks: 3,
  partitionRate: 0.02, crashRate: 0.004, proposeRate: 0.5, compactRate: 0.01,
};

export interface SimulationReport {
  seed: number;
  leaderChanges: number;
  committed: number;
  crashes: number;
  partitions: number;
  messages: number;
}

/** Ticks the liveness phase waits before proposing its entry again (two election timeouts). */
const RETRY_TICKS = 20;

export class SimulationFailure extends Error {
  override name = 'SimulationFailure';
  constructor(readonly seed: number, readonly tick: number, cause: Error) {
    super(`seed ${seed} failed at tick ${tick}: ${cause.message}\n  replay: npm run sim -- --seed ${seed}`, { cause });
  }
}

/**
 * A seeded, discrete-event run of a Raft cluster: message drops, duplicates, delays (and so
 * reordering), partitions, crash-restarts that lose unpersisted state, and log compaction, with
 * the safety invariants checked after every step. The same seed always replays the same run.
 */
export function simulate(opts: SimulationOptions): SimulationReport {
  const rand = new SeededRand(opts.seed);
  const ids: NodeId[] = Array.from({ length: opts.nodes }, (_, i) => BigInt(i + 1));
  const nodes = ids.map((id) => new SimNode(id, ids, rand));
  const checker = new InvariantChecker();
  const inFlight: Array<{ at: number; m: Message }> = [];
  const downUntil = new Map<NodeId, number>();
  let side = new Set<NodeId>(); // one side of a partition; empty when healed
  const report: SimulationReport = { seed: opts.seed, leaderChanges: 0, committed: 0, crashes: 0, partitions: 0, messages: 0 };
  let lastLeader: NodeId | undefined;
  let tick = 0;
  let faults = true;
  let proposals = 0;

  const check = () => checker.check(nodes.filter((n) => n.up).map((n) => n.node.raft));
  const connected = (a: NodeId, b: NodeId) => side.size === 0 || side.has(a) === side.has(b);
  // A real transport tells the leader how a snapshot went; without that it would wait forever.
  const snapshotDone = (m: Message, failed: boolean) => {
    const from = nodes[Number(m.from) - 1]!;
    if (m.type === 'MsgSnap' && from.up) from.node.reportSnapshot(m.to, failed);
  };
  const flush = () => {
    for (const n of nodes) {
      if (!n.up) continue;
      for (const m of n.processReady((node, e) => checker.applied(node.id, e))) {
        report.messages++;
        if (faults && rand.next() < opts.dropRate) {
          snapshotDone(m, true);
          continue;
        }
        const copies = faults && rand.next() < opts.duplicateRate ? 2 : 1;
        for (let c = 0; c < copies; c++) inFlight.push({ at: tick + (faults ? rand.intn(opts.maxDelayTicks + 1) : 0), m });
      }
      check();
    }
  };
  const deliverDue = () => {
    // Due messages go out in random order: that, and the delays, reorder them.
    const due = inFlight.filter((f) => f.at <= tick);
    for (let i = inFlight.length - 1; i >= 0; i--) if (inFlight[i]!.at <= tick) inFlight.splice(i, 1);
    while (due.length > 0) {
      const { m } = due.splice(rand.intn(due.length), 1)[0]!;
      const to = nodes[Number(m.to) - 1];
      if (to === undefined || !to.up || !connected(m.from, m.to)) {
        snapshotDone(m, true);
        continue;
      }
      try {
        to.node.step(m);
      } catch (err) {
        if ((err as Error).name !== 'ProposalDroppedError') throw err;
      }
      snapshotDone(m, false);
      check();
      flush();
    }
  };
  const runTick = () => {
    for (const n of nodes) if (n.up) n.node.tick();
    flush();
    deliverDue();
    flush();
    const leader = nodes.find((n) => n.up && n.node.raft.state === 'leader')?.id;
    if (leader !== undefined && leader !== lastLeader) {
      report.leaderChanges++;
      lastLeader = leader;
    }
    tick++;
  };
  const propose = (data: string) => {
    const n = nodes[rand.intn(nodes.length)]!;
    if (!n.up) return;
    try {
      n.node.propose(Buffer.from(data));
    } catch (err) {
      if ((err as Error).name !== 'ProposalDroppedError') throw err;
    }
  };

  try {
    for (; tick < opts.faultTicks;) {
      if (rand.next() < opts.partitionRate) {
        if (side.size > 0) side = new Set();
        else {
          side = new Set(ids.filter(() => rand.next() < 0.5));
          report.partitions++;
        }
      }
      for (const n of nodes) {
        if (n.up && rand.next() < opts.crashRate) {
          n.crash();
          report.crashes++;
          downUntil.set(n.id, tick + 5 + rand.intn(40));
        } else if (!n.up && tick >= downUntil.get(n.id)!) {
          n.restart();
          checker.restarted(n.id);
        }
        if (n.up && rand.next() < opts.compactRate) n.compact(rand.intn(5));
      }
      if (rand.next() < opts.proposeRate) propose(`p${proposals++}`);
      runTick();
    }

    // Faults off: everyone back, no drops, no partition. The cluster must elect and commit.
    faults = false;
    side = new Set();
    for (const n of nodes) {
      if (!n.up) {
        n.restart();
        checker.restarted(n.id);
      }
    }
    const marker = `final-${opts.seed}`;
    const end = tick + opts.livenessTicks;
    // Like a client, propose to whoever leads and retry after a while: a leader deposed just
    // after taking the proposal loses it, which is allowed.
    let proposedAt = -Infinity;
    while (tick < end) {
      runTick();
      const leader = nodes.find((n) => n.node.raft.state === 'leader');
      if (leader && tick - proposedAt >= RETRY_TICKS) {
        try {
          leader.node.propose(Buffer.from(marker));
          proposedAt = tick;
        } catch (err) {
          if ((err as Error).name !== 'ProposalDroppedError') throw err;
        }
      }
      if (nodes.every((n) => n.stateMachine.some((e) => e?.data === marker))) {
        report.committed = Math.max(...nodes.map((n) => n.node.raft.log.committed));
        return report;
      }
    }
    throw new InvariantViolation(`liveness: no leader committed a new entry on every node within ${opts.livenessTicks} fault-free ticks`);
  } catch (err) {
    throw new SimulationFailure(opts.seed, tick, err as Error);
  }
}
