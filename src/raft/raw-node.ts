import { RaftConfig } from './config';
import { StepLocalMessageError, StepPeerNotFoundError } from './errors';
import { Raft } from './raft';
import { coalesce } from './coalesce';
import { ConfChange, encodeConfChange } from './conf-change';
import {
  ConfState, HardState, isEmptyHardState, isLocalMessage, isResponseMessage, message, Message, NodeId, Ready, SoftState,
} from './types';

/**
 * The application's handle on a Raft node, as etcd's RawNode: feed it ticks, messages and
 * proposals; when hasReady(), take ready(), persist its entries and hard state, send its
 * messages, apply its committed entries, then advance(). Not safe for concurrent use (there is
 * no concurrency in it: every method is synchronous).
 */
export class RawNode {
  readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;

  constructor(cfg: RaftConfig) {
    this.raft = new Raft(cfg);
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
  }

  tick(): void {
    this.raft.tick();
  }

  campaign(): void {
    this.raft.step(message({ type: 'MsgHup', from: this.raft.id }));
  }

  /** Throws ProposalDroppedError when there is no leader to take it or a transfer is under way. */
  propose(data: Uint8Array): void {
    this.raft.propose(data);
  }

  /**
   * Proposes a configuration change; throws ProposalDroppedError as propose() does. A leader with
   * another change not yet applied logs it as an empty entry instead, and it never takes effect.
   */
  proposeConfChange(cc: ConfChange): void {
    this.raft.propose(encodeConfChange(cc), 'conf-change');
  }

  /** Puts a committed conf change into effect (call when applying its entry). */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /** Steps a message from a peer. Local message types are refused, as are replies from strangers. */
  step(m: Message): void {
    if (isLocalMessage(m.type)) throw new StepLocalMessageError();
    if (isResponseMessage(m.type) && !this.raft.prs.has(m.from)) throw new StepPeerNotFoundError();
    this.raft.step(m);
  }

  /** Asks for a linearizable read point; it arrives later as a ReadState carrying `ctx`. */
  readIndex(ctx: Uint8Array): void {
    this.raft.step(message({ type: 'MsgReadIndex', entries: [{ term: 0, index: 0, type: 'normal', data: ctx }] }));
  }

  /** Asks the leader to hand leadership to `transferee`. */
  transferLeader(transferee: NodeId): void {
    this.raft.step(message({ type: 'MsgTransferLeader', from: transferee }));
  }

  /** Tells the leader a peer could not be reached, so it stops pipelining to it. */
  reportUnreachable(id: NodeId): void {
    this.raft.step(message({ type: 'MsgUnreachable', from: id }));
  }

  reportSnapshot(id: NodeId, failed: boolean): void {
    this.raft.step(message({ type: 'MsgSnapStatus', from: id, reject: failed }));
  }

  hasReady(): boolean {
    const r = this.raft;
    if (!sameSoftState(r.softState(), this.prevSoftState)) return true;
    const hs = r.hardState();
    if (!isEmptyHardState(hs) && !sameHardState(hs, this.prevHardState)) return true;
    return r.log.unstable.snapshot !== undefined || r.log.unstableEntries().length > 0 ||
      r.msgs.length > 0 || r.log.hasNextCommittedEntries() || r.readStates.length > 0;
  }

  /** The pending work. Messages and read states are handed over once; the rest until advance(). */
  ready(): Ready {
    const r = this.raft;
    const soft = r.softState();
    const hard = r.hardState();
    const entries = [...r.log.unstableEntries()];
    const rd: Ready = {
      entries,
      committedEntries: r.log.nextCommittedEntries(),
      messages: coalesce(r.msgs, r.cfg.maxSizePerMsg),
      readStates: r.readStates,
      mustSync: entries.length > 0 || hard.term !== this.prevHardState.term || hard.vote !== this.prevHardState.vote,
      ...(sameSoftState(soft, this.prevSoftState) ? {} : { softState: soft }),
      ...(sameHardState(hard, this.prevHardState) ? {} : { hardState: hard }),
      ...(r.log.unstable.snapshot ? { snapshot: r.log.unstable.snapshot } : {}),
    };
    r.msgs = [];
    r.readStates = [];
    if (rd.softState) this.prevSoftState = rd.softState;
    return rd;
  }

  /** The Ready was persisted and applied. */
  advance(rd: Ready): void {
    const r = this.raft;
    if (rd.hardState) this.prevHardState = rd.hardState;
    // The application installed the snapshot's state before applying the entries after it.
    if (rd.snapshot) r.log.appliedTo(rd.snapshot.metadata.index);
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastCommitted) r.log.appliedTo(lastCommitted.index);
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry) r.log.stableTo(lastEntry.index, lastEntry.term);
    if (rd.snapshot) r.log.stableSnapTo(rd.snapshot.metadata.index);
  }

  status(): { id: NodeId; term: number; lead: NodeId; state: SoftState['raftState']; commit: number; applied: number; lastIndex: number } {
    const r = this.raft;
    return { id: r.id, term: r.term, lead: r.lead, state: r.state, commit: r.log.committed, applied: r.log.applied, lastIndex: r.log.lastIndex() };
  }
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.lead === b.lead && a.raftState === b.raftState;
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
