import { LogCompactedError } from './errors';
import { idToHex } from '../util/bytes';
import { Raft } from './raft';
import { message, Message, NodeId, NONE } from './types';

/** The leader's reaction to a message (its term already checked by Raft.step). */
export function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case 'MsgBeat':
      bcastHeartbeat(r);
      return;
    case 'MsgCheckQuorum':
      if (!quorumActive(r)) {
        r.logger.warn('stepped down to follower since quorum is not active', { id: idToHex(r.id), term: r.term });
        r.becomeFollower(r.term, NONE);
      }
      for (const [id, pr] of r.prs) if (id !== r.id) pr.recentActive = false;
      return;
    case 'MsgProp':
      if (!r.prs.has(r.id) || r.leadTransferee !== NONE) r.dropProposal();
      for (let i = 0; i < m.entries.length; i++) {
        if (m.entries[i]!.type !== 'conf-change') continue;
        // One change at a time. A second one while the first is not applied becomes an empty entry,
        // as in etcd: its proposer waits and times out, on the leader as through a follower (whose
        // forwarded proposal the leader could not refuse to it), and the proposals beside it go on.
        if (r.pendingConfIndex > r.log.applied) {
          r.logger.info('ignoring a configuration change while another is pending', { id: idToHex(r.id), pending: r.pendingConfIndex, applied: r.log.applied });
          m.entries[i] = { ...m.entries[i]!, type: 'normal', data: new Uint8Array() };
        } else {
          r.pendingConfIndex = r.log.lastIndex() + i + 1;
        }
      }
      r.appendEntry(m.entries);
      bcastAppend(r);
      return;
    case 'MsgReadIndex':
      if (r.voters.length === 1 && r.voters[0] === r.id) {
        respondToReadIndex(r, m, r.log.committed);
      } else if (!r.committedEntryInCurrentTerm()) {
        // Until an entry of its term commits, this leader's commit index may be behind.
        r.pendingReadIndexMessages.push(m);
      } else {
        startReadIndex(r, m);
      }
      return;
    default:
  }

  const pr = r.prs.get(m.from);
  if (pr === undefined) return;
  switch (m.type) {
    case 'MsgAppResp': {
      pr.recentActive = true;
      if (m.reject) {
        const hint = m.logTerm > 0 ? r.log.findConflictByTerm(m.rejectHint, m.logTerm).index : m.rejectHint;
        if (pr.maybeDecrTo(m.index, hint)) {
          if (pr.state === 'replicate') pr.becomeProbe();
          sendAppend(r, m.from);
        }
        return;
      }
      const oldPaused = pr.isPaused();
      if (!pr.maybeUpdate(m.index)) return;
      if (pr.state === 'probe') {
        pr.becomeReplicate();
      } else if (pr.state === 'snapshot' && pr.match + 1 >= r.log.firstIndex()) {
        // The follower caught up past the snapshot: back to normal replication.
        pr.becomeProbe();
        pr.becomeReplicate();
      } else if (pr.state === 'replicate') {
        pr.inflights.freeLE(m.index);
      }
      if (r.maybeCommit()) {
        releasePendingReadIndexMessages(r);
        bcastAppend(r);
      } else if (oldPaused) {
        sendAppend(r, m.from);
      }
      // Keep the pipeline full while the window allows.
      while (maybeSendAppend(r, m.from, false)) { /* sent another batch */ }
      if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) sendTimeoutNow(r, m.from);
      return;
    }
    case 'MsgHeartbeatResp': {
      pr.recentActive = true;
      pr.probeSent = false;
      // A heartbeat reply frees one slot, so a follower whose acks were lost is not stuck forever.
      if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
      if (pr.match < r.log.lastIndex()) sendAppend(r, m.from);
      if (m.context === undefined || m.context.length === 0) return;
      const acks = r.readOnly.recvAck(m.from, m.context);
      if (acks === undefined || !hasQuorum(r, acks)) return;
      for (const rs of r.readOnly.advance(m.context)) respondToReadIndex(r, rs.req, rs.index);
      return;
    }
    case 'MsgSnapStatus':
      if (pr.state !== 'snapshot') return;
      if (m.reject) pr.pendingSnapshot = 0;
      pr.becomeProbe();
      // Wait for a heartbeat reply (or the MsgAppResp) before probing again.
      pr.probeSent = true;
      return;
    case 'MsgUnreachable':
      if (pr.state === 'replicate') pr.becomeProbe();
      return;
    case 'MsgTransferLeader': {
      if (pr.isLearner) return;
      const transferee = m.from;
      if (r.leadTransferee !== NONE) {
        if (r.leadTransferee === transferee) return;
        r.abortLeaderTransfer();
      }
      if (transferee === r.id) return;
      r.electionElapsed = 0; // the transfer must finish within one election timeout
      r.leadTransferee = transferee;
      if (pr.match === r.log.lastIndex()) sendTimeoutNow(r, transferee);
      else sendAppend(r, transferee);
      return;
    }
    default:
  }
}

export function bcastAppend(r: Raft): void {
  for (const id of r.prs.keys()) if (id !== r.id) sendAppend(r, id);
}

function bcastHeartbeat(r: Raft): void {
  const ctx = r.readOnly.lastPendingRequestCtx();
  for (const [id, pr] of r.prs) {
    if (id === r.id) continue;
    // Never tell a follower to commit beyond what it is known to have.
    r.send(message({ type: 'MsgHeartbeat', to: id, commit: Math.min(pr.match, r.log.committed), ...(ctx ? { context: ctx } : {}) }));
  }
}

export function sendAppend(r: Raft, to: NodeId): void {
  maybeSendAppend(r, to, true);
}

/**
 * Sends the entries `to` lacks, or a snapshot when they are compacted away. Returns whether a
 * message went out (nothing is sent to a paused follower, or with nothing new unless asked).
 */
export function maybeSendAppend(r: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.prs.get(to)!;
  if (pr.isPaused()) return false;
  const prevTerm = r.log.term(pr.next - 1);
  let ents: Message['entries'] | undefined;
  try {
    ents = r.log.entriesFrom(pr.next, r.cfg.maxSizePerMsg);
  } catch (err) {
    if (!(err instanceof LogCompactedError)) throw err;
  }
  if (ents !== undefined && ents.length === 0 && !sendIfEmpty) return false;
  if (prevTerm === undefined || ents === undefined) {
    if (!pr.recentActive) return false; // not worth a snapshot until it shows it is alive
    const snapshot = r.log.snapshot();
    r.logger.info('sending snapshot to a follower behind the compacted log', {
      id: idToHex(r.id), to: idToHex(to), index: snapshot.metadata.index, 'follower-next': pr.next,
    });
    r.send(message({ type: 'MsgSnap', to, snapshot }));
    pr.becomeSnapshot(snapshot.metadata.index);
    return true;
  }
  r.send(message({ type: 'MsgApp', to, index: pr.next - 1, logTerm: prevTerm, entries: ents, commit: r.log.committed }));
  const last = ents[ents.length - 1];
  if (last !== undefined) {
    if (pr.state === 'replicate') {
      pr.optimisticUpdate(last.index);
      pr.inflights.add(last.index);
    } else if (pr.state === 'probe') {
      pr.probeSent = true;
    }
  }
  return true;
}

function sendTimeoutNow(r: Raft, to: NodeId): void {
  r.send(message({ type: 'MsgTimeoutNow', to }));
}

function quorumActive(r: Raft): boolean {
  const active = new Set<NodeId>();
  for (const [id, pr] of r.prs) if (id === r.id || pr.recentActive) active.add(id);
  return hasQuorum(r, active);
}

function hasQuorum(r: Raft, ids: Set<NodeId>): boolean {
  const voters = r.voters;
  return voters.filter((id) => ids.has(id)).length >= Math.floor(voters.length / 2) + 1;
}

/** Queues the read and confirms leadership with a heartbeat round carrying its context. */
function startReadIndex(r: Raft, m: Message): void {
  const ctx = m.entries[0]!.data;
  r.readOnly.addRequest(r.log.committed, m);
  r.readOnly.recvAck(r.id, ctx);
  for (const [id, pr] of r.prs) {
    if (id === r.id) continue;
    r.send(message({ type: 'MsgHeartbeat', to: id, commit: Math.min(pr.match, r.log.committed), context: ctx }));
  }
}

function releasePendingReadIndexMessages(r: Raft): void {
  if (!r.committedEntryInCurrentTerm()) return;
  const pending = r.pendingReadIndexMessages;
  r.pendingReadIndexMessages = [];
  for (const m of pending) startReadIndex(r, m);
}

function respondToReadIndex(r: Raft, req: Message, readIndex: number): void {
  if (req.from === NONE || req.from === r.id) {
    r.readStates.push({ index: readIndex, requestCtx: req.entries[0]!.data });
  } else {
    r.send(message({ type: 'MsgReadIndexResp', to: req.from, index: readIndex, entries: req.entries }));
  }
}
