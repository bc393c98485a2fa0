import type { RaftMessage, RaftMessage__Output } from '../generated/keelpb/RaftMessage';
import type { Entry, Message, MessageType } from '../raft/types';

/** Raft messages to and from their wire form (proto/keelpb/raft.proto). */

export function toWire(m: Message): RaftMessage {
  return {
    type: m.type,
    to: m.to.toString(),
    from: m.from.toString(),
    term: m.term,
    log_term: m.logTerm,
    index: m.index,
    entries: m.entries.map((e) => ({ term: e.term, index: e.index, type: e.type === 'normal' ? 'NORMAL' : 'CONF_CHANGE', data: e.data })),
    commit: m.commit,
    reject: m.reject,
    reject_hint: m.rejectHint,
    snapshot: m.snapshot && {
      index: m.snapshot.metadata.index,
      term: m.snapshot.metadata.term,
      conf_state: {
        voters: m.snapshot.metadata.confState.voters.map(String),
        learners: m.snapshot.metadata.confState.learners.map(String),
      },
    },
    context: m.context ?? new Uint8Array(),
    has_context: m.context !== undefined,
  };
}

/** `snapshotData` is the state that followed a MsgSnap in chunks. */
export function fromWire(w: RaftMessage__Output, snapshotData?: Uint8Array): Message {
  const m: Message = {
    type: w.type as MessageType,
    to: BigInt(w.to),
    from: BigInt(w.from),
    term: Number(w.term),
    logTerm: Number(w.log_term),
    index: Number(w.index),
    entries: w.entries.map((e): Entry => ({
      term: Number(e.term), index: Number(e.index), type: e.type === 'CONF_CHANGE' ? 'conf-change' : 'normal', data: e.data,
    })),
    commit: Number(w.commit),
    reject: w.reject,
    rejectHint: Number(w.reject_hint),
  };
  if (w.has_context) m.context = w.context;
  if (w.snapshot) {
    m.snapshot = {
      metadata: {
        index: Number(w.snapshot.index),
        term: Number(w.snapshot.term),
        confState: {
          voters: (w.snapshot.conf_state?.voters ?? []).map(BigInt),
          learners: (w.snapshot.conf_state?.learners ?? []).map(BigInt),
        },
      },
      data: snapshotData ?? new Uint8Array(),
    };
  }
  return m;
}
