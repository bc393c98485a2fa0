import { silentLogger } from '../../util/logger';
import { Rand } from '../../util/rand';
import { RaftConfig } from '../config';
import { RawNode } from '../raw-node';
import { MemoryStorage } from '../storage';
import { decodeConfChange } from '../conf-change';
import { ConfState, Entry, Message, NodeId, ReadState } from '../types';

/** An entry as the state machine saw it. */
export interface AppliedEntry {
  index: number;
  term: number;
  data: string;
}

/**
 * A Raft node for tests and simulation: `storage` is its disk (what survives a crash),
 * `stateMachine` the application's state, rebuilt on restart from the snapshot and the log.
 */
export class SimNode {
  readonly storage = new MemoryStorage();
  node: RawNode;
  /** Applied entries, by index; the snapshot's data holds this array up to its index. */
  stateMachine: AppliedEntry[] = [];
  /** Every read point handed out, in order. */
  readonly readStates: ReadState[] = [];
  up = true;

  constructor(
    readonly id: NodeId,
    private readonly voters: NodeId[],
    private readonly rand: Rand,
    private readonly overrides: Partial<RaftConfig> = {},
  ) {
    this.node = this.newRawNode(0, { voters, learners: [] });
  }

  private newRawNode(applied: number, confState: ConfState): RawNode {
    return new RawNode({
      id: this.id, electionTicks: 10, heartbeatTicks: 1, storage: this.storage, applied,
      maxSizePerMsg: 1024 * 1024, maxInflightMsgs: 256, checkQuorum: true, preVote: true,
      confState, rand: this.rand, logger: silentLogger, ...this.overrides,
    });
  }

  /**
   * Handles one Ready in etcd's order: persist entries, hard state and snapshot; apply; advance.
   * Returns the messages, which may be sent only now that their state is durable.
   */
  processReady(onApply?: (node: SimNode, e: AppliedEntry) => void): Message[] {
    if (!this.node.hasReady()) return [];
    const rd = this.node.ready();
    if (rd.snapshot) {
      this.storage.applySnapshot(rd.snapshot);
      this.stateMachine = decodeState(rd.snapshot.data);
    }
    this.storage.append(rd.entries);
    if (rd.hardState) this.storage.setHardState(rd.hardState);
    for (const e of rd.committedEntries) this.apply(e, onApply);
    this.readStates.push(...rd.readStates);
    this.node.advance(rd);
    return rd.messages;
  }

  /** Snapshots the state machine at its applied index and drops the log before `keep` entries back. */
  compact(keep: number): void {
    const applied = this.node.raft.log.applied;
    if (applied <= this.storage.snapshot().metadata.index) return;
    this.storage.createSnapshot(applied, this.node.raft.confState(), encodeState(this.stateMachine.slice(0, applied + 1)));
    const compactTo = applied - keep;
    if (compactTo > this.storage.firstIndex()) this.storage.compact(compactTo);
  }

  /** Loses everything not in storage: unsent messages, the unstable log, the in-memory state. */
  crash(): void {
    this.up = false;
  }

  restart(): void {
    const snap = this.storage.snapshot();
    this.stateMachine = decodeState(snap.data);
    // Without a snapshot the log replays from the start, conf changes included.
    const confState = snap.metadata.index > 0 ? snap.metadata.confState : { voters: this.voters, learners: [] };
    this.node = this.newRawNode(snap.metadata.index, confState);
    this.up = true;
  }

  private apply(e: Entry, onApply?: (node: SimNode, e: AppliedEntry) => void): void {
    const applied = { index: e.index, term: e.term, data: Buffer.from(e.data).toString('latin1') };
    this.stateMachine[e.index] = applied;
    if (e.type === 'conf-change') this.node.applyConfChange(decodeConfChange(e.data));
    onApply?.(this, applied);
  }
}

function encodeState(state: AppliedEntry[]): Uint8Array {
  return Buffer.from(JSON.stringify(state));
}

function decodeState(data: Uint8Array): AppliedEntry[] {
  return data.length === 0 ? [] : (JSON.parse(Buffer.from(data).toString()) as AppliedEntry[]);
}
