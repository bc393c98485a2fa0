import { idToHex } from '../util/bytes';
import { invariant } from '../util/invariant';
import { Logger } from '../util/logger';
import { RaftConfig, validateRaftConfig } from './config';
import { ProposalDroppedError } from './errors';
import { RaftLog } from './log';
import { Progress } from './progress';
import { committedIndex, voteResult, VoteResult } from './quorum';
import { ReadOnly } from './read-only';
import { stepCandidate, stepFollower } from './step-follower';
import { bcastAppend, maybeSendAppend, stepLeader } from './step-leader';
import { ConfChange } from './conf-change';
import { ConfState, Entry, HardState, message, Message, MessageType, NodeId, NONE, ReadState, SoftState, StateType, voteResponseType } from './types';

/** Context of a vote that a leadership transfer asked for: it may ignore the leader lease. */
export const CAMPAIGN_TRANSFER = new TextEncoder().encode('CampaignTransfer');

export type CampaignType = 'pre-election' | 'election' | 'transfer';

/**
 * One Raft node: the protocol of the Raft paper and thesis, following etcd/raft closely.
 * Pure: time arrives as tick(), randomness from the config, and everything to persist or send
 * is collected (msgs, the log's unstable tail) for the RawNode to hand out in a Ready.
 */
export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  state: StateType = 'follower';
  readonly log: RaftLog;
  readonly logger: Logger;
  readonly cfg: RaftConfig;
  readonly prs = new Map<NodeId, Progress>();
  votes = new Map<NodeId, boolean>();
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  readOnly = new ReadOnly();
  /** ReadIndex requests that arrived before this leader committed an entry of its term. */
  pendingReadIndexMessages: Message[] = [];
  leadTransferee: NodeId = NONE;
  /**
   * Index of the newest conf-change entry this leader may still apply; a second one is refused
   * until it has been applied, so configurations change one member at a time.
   */
  pendingConfIndex = 0;
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  private stepByState: (r: Raft, m: Message) => void = stepFollower;
  private tickByState: () => void = () => this.tickElection();

  constructor(cfg: RaftConfig) {
    validateRaftConfig(cfg);
    this.cfg = cfg;
    this.id = cfg.id;
    this.logger = cfg.logger;
    this.log = new RaftLog(cfg.storage);
    const { hardState, confState: stored } = cfg.storage.initialState();
    // The application's configuration (as of `applied`) is newer than the snapshot's, if it has one.
    const confState = cfg.confState.voters.length > 0 || cfg.confState.learners.length > 0 ? cfg.confState : stored;
    for (const id of confState.voters) this.prs.set(id, new Progress(0, 1, cfg.maxInflightMsgs));
    for (const id of confState.learners) this.prs.set(id, new Progress(0, 1, cfg.maxInflightMsgs, true));
    if (hardState.term !== 0 || hardState.commit !== 0) this.loadState(hardState);
    if (cfg.applied > 0) this.log.appliedTo(cfg.applied);
    this.becomeFollower(this.term, NONE);
  }

  /** Asked on every acknowledgement a leader gets: one array, not three. */
  get voters(): NodeId[] {
    const ids: NodeId[] = [];
    for (const [id, pr] of this.prs) if (!pr.isLearner) ids.push(id);
    return ids;
  }

  confState(): ConfState {
    return { voters: this.voters, learners: [...this.prs].filter(([, pr]) => pr.isLearner).map(([id]) => id) };
  }

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** Whether this node may become leader: a voter in the current configuration. */
  promotable(): boolean {
    const pr = this.prs.get(this.id);
    return pr !== undefined && !pr.isLearner;
  }

  tick(): void {
    this.tickByState();
  }

  // ---- state transitions ----

  becomeFollower(term: number, lead: NodeId): void {
    this.stepByState = stepFollower;
    this.reset(term);
    this.tickByState = () => this.tickElection();
    this.lead = lead;
    this.state = 'follower';
    this.logger.debug('became follower', { id: idToHex(this.id), term: this.term });
  }

  becomeCandidate(): void {
    invariant(this.state !== 'leader', 'invalid transition [leader -> candidate]');
    this.stepByState = stepCandidate;
    this.reset(this.term + 1);
    this.tickByState = () => this.tickElection();
    this.vote = this.id;
    this.state = 'candidate';
    this.logger.debug('became candidate', { id: idToHex(this.id), term: this.term });
  }

  becomePreCandidate(): void {
    invariant(this.state !== 'leader', 'invalid transition [leader -> pre-candidate]');
    // Neither term nor vote change: a pre-election must not disturb anyone.
    this.stepByState = stepCandidate;
    this.votes = new Map();
    this.tickByState = () => this.tickElection();
    this.lead = NONE;
    this.state = 'pre-candidate';
    this.logger.debug('became pre-candidate', { id: idToHex(this.id), term: this.term });
  }

  becomeLeader(): void {
    invariant(this.state !== 'follower', 'invalid transition [follower -> leader]');
    this.stepByState = stepLeader;
    this.reset(this.term);
    this.tickByState = () => this.tickHeartbeat();
    this.lead = this.id;
    this.state = 'leader';
    this.prs.get(this.id)!.becomeReplicate();
    // Entries of earlier terms may hold a conf change not yet applied; assume the worst.
    this.pendingConfIndex = this.log.lastIndex();
    // An empty entry of the new term: committing it commits everything before it (Raft §5.4.2).
    invariant(this.appendEntry([{ term: 0, index: 0, type: 'normal', data: new Uint8Array() }]), 'empty entry was dropped');
    this.logger.info('became leader', { id: idToHex(this.id), term: this.term });
  }

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.cfg.electionTicks + this.cfg.rand.intn(this.cfg.electionTicks);
    this.leadTransferee = NONE;
    this.votes = new Map();
    const last = this.log.lastIndex();
    for (const [id, old] of this.prs) {
      const pr = new Progress(0, last + 1, this.cfg.maxInflightMsgs, old.isLearner);
      if (id === this.id) pr.match = last;
      this.prs.set(id, pr);
    }
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
  }

  private loadState(hs: HardState): void {
    invariant(hs.commit >= this.log.committed && hs.commit <= this.log.lastIndex(),
      `${idToHex(this.id)} state.commit ${hs.commit} is out of range [${this.log.committed}, ${this.log.lastIndex()}]`);
    this.log.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  // ---- ticks ----

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step(message({ type: 'MsgHup', from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) this.step(message({ type: 'MsgCheckQuorum', from: this.id }));
      // A transfer that did not finish within an election timeout is given up.
      if (this.state === 'leader' && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.state !== 'leader') return;
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.step(message({ type: 'MsgBeat', from: this.id }));
    }
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  // ---- the entry point for every message ----

  /** Throws ProposalDroppedError for proposals that cannot be accepted now. */
  step(m: Message): void {
    if (m.term === 0) {
      // A local message, or a proposal/read forwarded by a follower.
    } else if (m.term > this.term) {
      if (m.type === 'MsgVote' || m.type === 'MsgPreVote') {
        const force = m.context !== undefined && equalBytes(m.context, CAMPAIGN_TRANSFER);
        const inLease = this.cfg.checkQuorum && this.lead !== NONE && this.electionElapsed < this.cfg.electionTicks;
        // A node that heard from a leader recently ignores a disruptive candidate.
        if (!force && inLease) return;
      }
      if (m.type === 'MsgPreVote') {
        // Never change term for a pre-vote.
      } else if (m.type === 'MsgPreVoteResp' && !m.reject) {
        // The term is bumped when the pre-vote wins.
      } else if (m.type === 'MsgApp' || m.type === 'MsgHeartbeat' || m.type === 'MsgSnap') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === 'MsgHeartbeat' || m.type === 'MsgApp')) {
        // A stale leader learns of the newer term and steps down, instead of being ignored forever.
        this.send(message({ type: 'MsgAppResp', to: m.from }));
      } else if (m.type === 'MsgPreVote') {
        this.send(message({ type: 'MsgPreVoteResp', to: m.from, term: this.term, reject: true }));
      }
      return;
    }

    switch (m.type) {
      case 'MsgHup':
        this.hup(this.cfg.preVote ? 'pre-election' : 'election');
        return;
      case 'MsgVote':
      case 'MsgPreVote': {
        const canVote = this.vote === m.from || (this.vote === NONE && this.lead === NONE) ||
          (m.type === 'MsgPreVote' && m.term > this.term);
        if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
          // The response carries the vote's term, so a pre-vote reply is for the future term.
          this.send(message({ type: voteResponseType(m.type), to: m.from, term: m.term }));
          if (m.type === 'MsgVote') {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.send(message({ type: voteResponseType(m.type), to: m.from, term: this.term, reject: true }));
        }
        return;
      }
      default:
        this.stepByState(this, m);
    }
  }

  hup(t: CampaignType): void {
    if (this.state === 'leader' || !this.promotable()) return;
    this.campaign(t);
  }

  campaign(t: CampaignType): void {
    let term: number;
    let voteMsg: MessageType;
    if (t === 'pre-election') {
      this.becomePreCandidate();
      voteMsg = 'MsgPreVote';
      term = this.term + 1; // the term it would campaign in
    } else {
      this.becomeCandidate();
      voteMsg = 'MsgVote';
      term = this.term;
    }
    if (this.poll(this.id, voteResponseType(voteMsg), true) === 'won') {
      // A single-voter cluster wins at once.
      if (t === 'pre-election') this.campaign('election');
      else this.becomeLeader();
      return;
    }
    for (const id of this.voters) {
      if (id === this.id) continue;
      this.send(message({
        type: voteMsg, to: id, term, index: this.log.lastIndex(), logTerm: this.log.lastTerm(),
        ...(t === 'transfer' ? { context: CAMPAIGN_TRANSFER } : {}),
      }));
    }
  }

  poll(id: NodeId, t: MessageType, granted: boolean): VoteResult {
    this.logger.debug(granted ? 'received vote' : 'received vote rejection', { id: idToHex(this.id), from: idToHex(id), type: t, term: this.term });
    if (!this.votes.has(id)) this.votes.set(id, granted);
    return voteResult(this.voters, this.votes);
  }

  // ---- the leader's log ----

  /** Appends entries of the current term to the leader's log. */
  appendEntry(es: Entry[]): boolean {
    let li = this.log.lastIndex();
    const ents = es.map((e) => ({ ...e, term: this.term, index: ++li }));
    li = this.log.append(ents);
    // The leader's own entries count as matched now; they are persisted before any commit built
    // on them leaves this node, because each Ready is persisted before its messages are sent.
    this.prs.get(this.id)!.maybeUpdate(li);
    this.maybeCommit();
    return true;
  }

  maybeCommit(): boolean {
    const matched: number[] = [];
    for (const pr of this.prs.values()) if (!pr.isLearner) matched.push(pr.match);
    return this.log.maybeCommit(committedIndex(matched), this.term);
  }

  committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  // ---- sending ----

  send(m: Message): void {
    // A forwarded leadership transfer keeps its transferee in `from`.
    if (m.from === NONE) m.from = this.id;
    if (m.type === 'MsgVote' || m.type === 'MsgVoteResp' || m.type === 'MsgPreVote' || m.type === 'MsgPreVoteResp') {
      invariant(m.term !== 0, `term should be set when sending ${m.type}`);
    } else {
      invariant(m.term === 0, `term should not be set when sending ${m.type} (was ${m.term})`);
      // Proposals and read requests forwarded to the leader travel as local messages (term 0).
      if (m.type !== 'MsgProp' && m.type !== 'MsgReadIndex') m.term = this.term;
    }
    this.msgs.push(m);
  }

  propose(data: Uint8Array, type: Entry['type'] = 'normal'): void {
    this.step(message({ type: 'MsgProp', from: this.id, entries: [{ term: 0, index: 0, type, data }] }));
  }

  /**
   * Puts a committed conf change into effect; the application calls this when it applies the
   * entry (etcd/raft v1 semantics: the new configuration counts from then on).
   */
  applyConfChange(cc: ConfChange): ConfState {
    const pr = this.prs.get(cc.nodeId);
    switch (cc.type) {
      case 'add-node':
        if (pr !== undefined) pr.isLearner = false;
        else this.addProgress(cc.nodeId, false);
        break;
      case 'add-learner-node':
        // Demoting a voter is not supported (etcd's server never asks for it).
        if (pr === undefined) this.addProgress(cc.nodeId, true);
        break;
      case 'remove-node':
        this.prs.delete(cc.nodeId);
        if (this.leadTransferee === cc.nodeId) this.abortLeaderTransfer();
        break;
      case 'update-node':
        break;
    }
    this.logger.info('applied configuration change', { id: idToHex(this.id), type: cc.type, node: idToHex(cc.nodeId), voters: this.voters.length });
    // A leader that was removed keeps leading until the application stops it, so that followers
    // learn that the change committed; a follower that was removed stops campaigning (promotable).
    if (this.state === 'leader' && this.promotable() && this.voters.length > 0) {
      // A smaller quorum may commit more now; new members need their first entries.
      if (this.maybeCommit()) bcastAppend(this);
      else for (const id of this.prs.keys()) if (id !== this.id) maybeSendAppend(this, id, false);
    }
    return this.confState();
  }

  private addProgress(id: NodeId, isLearner: boolean): void {
    const pr = new Progress(0, this.log.lastIndex() + 1, this.cfg.maxInflightMsgs, isLearner);
    // A new member counts as active, or check-quorum could step the leader down before it answers.
    pr.recentActive = true;
    this.prs.set(id, pr);
  }

  dropProposal(): never {
    throw new ProposalDroppedError();
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
