import { Progress } from './progress';
import { idToHex } from '../util/bytes';
import { Raft } from './raft';
import { bcastAppend } from './step-leader';
import { message, Message, NONE } from './types';

/** A follower's reaction to a message (its term already checked by Raft.step). */
export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case 'MsgProp':
    case 'MsgTransferLeader':
    case 'MsgReadIndex':
      if (r.lead === NONE) {
        if (m.type === 'MsgProp') r.dropProposal();
        return;
      }
      r.send({ ...m, to: r.lead });
      return;
    case 'MsgApp':
      r.electionElapsed = 0;
      r.lead = m.from;
      handleAppendEntries(r, m);
      return;
    case 'MsgHeartbeat':
      r.electionElapsed = 0;
      r.lead = m.from;
      r.log.commitTo(m.commit);
      r.send(message({ type: 'MsgHeartbeatResp', to: m.from, ...(m.context ? { context: m.context } : {}) }));
      return;
    case 'MsgSnap':
      r.electionElapsed = 0;
      r.lead = m.from;
      handleSnapshot(r, m);
      return;
    case 'MsgTimeoutNow':
      r.logger.info('campaigning for a leadership transfer', { id: idToHex(r.id), term: r.term, from: idToHex(m.from) });
      // Skips pre-vote: the leader asked for it, and the vote may ignore leader leases.
      r.hup('transfer');
      return;
    case 'MsgReadIndexResp':
      if (m.entries.length !== 1) return;
      r.readStates.push({ index: m.index, requestCtx: m.entries[0]!.data });
      return;
    default:
  }
}

/** A (pre-)candidate's reaction to a message. */
export function stepCandidate(r: Raft, m: Message): void {
  const myVoteResp = r.state === 'pre-candidate' ? 'MsgPreVoteResp' : 'MsgVoteResp';
  switch (m.type) {
    case 'MsgProp':
      r.dropProposal();
      return;
    case 'MsgApp':
    case 'MsgHeartbeat':
    case 'MsgSnap':
      // Someone else won this term.
      r.becomeFollower(m.term, m.from);
      stepFollower(r, m);
      return;
    case myVoteResp: {
      const res = r.poll(m.from, m.type, !m.reject);
      if (res === 'won') {
        if (r.state === 'pre-candidate') {
          r.campaign('election');
        } else {
          r.becomeLeader();
          bcastAppend(r);
        }
      } else if (res === 'lost') {
        r.becomeFollower(r.term, NONE);
      }
      return;
    }
    default:
  }
}

function handleAppendEntries(r: Raft, m: Message): void {
  if (m.index < r.log.committed) {
    r.send(message({ type: 'MsgAppResp', to: m.from, index: r.log.committed }));
    return;
  }
  const lastNew = r.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (lastNew !== undefined) {
    r.send(message({ type: 'MsgAppResp', to: m.from, index: lastNew }));
    return;
  }
  // Reject with a hint: the last index at or below m.index whose term is <= m.logTerm, so the
  // leader can skip a whole term of mismatched entries per round trip.
  const hint = r.log.findConflictByTerm(Math.min(m.index, r.log.lastIndex()), m.logTerm);
  r.send(message({ type: 'MsgAppResp', to: m.from, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term }));
}

function handleSnapshot(r: Raft, m: Message): void {
  const s = m.snapshot!;
  if (restore(r, m)) {
    r.logger.info('restored snapshot', { id: idToHex(r.id), index: s.metadata.index, term: s.metadata.term });
    r.send(message({ type: 'MsgAppResp', to: m.from, index: r.log.lastIndex() }));
  } else {
    r.send(message({ type: 'MsgAppResp', to: m.from, index: r.log.committed }));
  }
}

/** Installs a snapshot unless the log already has everything it holds. */
function restore(r: Raft, m: Message): boolean {
  const s = m.snapshot!;
  if (s.metadata.index <= r.log.committed) return false;
  if (r.log.matchTerm(s.metadata.index, s.metadata.term)) {
    // The log already has the snapshot's last entry: just commit up to it.
    r.log.commitTo(s.metadata.index);
    return false;
  }
  r.log.restore(s);
  r.prs.clear();
  const { voters, learners } = s.metadata.confState;
  for (const id of voters) r.prs.set(id, newProgress(r, false));
  for (const id of learners) r.prs.set(id, newProgress(r, true));
  const self = r.prs.get(r.id);
  if (self !== undefined) self.match = r.log.lastIndex();
  return true;
}

function newProgress(r: Raft, isLearner: boolean): Progress {
  const last = r.log.lastIndex();
  return new Progress(0, last + 1, r.cfg.maxInflightMsgs, isLearner);
}
