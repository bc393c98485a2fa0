/**
 * The Raft core's data types, in etcd/raft's vocabulary. Node IDs are etcd's 64-bit member IDs;
 * 0n means "none". Indexes and terms are safe integers.
 */
export type NodeId = bigint;
export const NONE: NodeId = 0n;

export type EntryType = 'normal' | 'conf-change';

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

/** What must be on disk before any message that depends on it leaves this node. */
export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

/** The metadata travels in Raft; the state itself is the application's (`data` may be empty). */
export interface Snapshot {
  metadata: SnapshotMetadata;
  data: Uint8Array;
}

export type StateType = 'follower' | 'candidate' | 'pre-candidate' | 'leader';

export interface SoftState {
  lead: NodeId;
  raftState: StateType;
}

export type MessageType =
  | 'MsgHup' // local: start an election
  | 'MsgBeat' // local: leader, send heartbeats
  | 'MsgProp' // propose entries (local, or forwarded to the leader)
  | 'MsgApp'
  | 'MsgAppResp'
  | 'MsgVote'
  | 'MsgVoteResp'
  | 'MsgPreVote'
  | 'MsgPreVoteResp'
  | 'MsgSnap'
  | 'MsgHeartbeat'
  | 'MsgHeartbeatResp'
  | 'MsgUnreachable' // local: the transport could not reach a peer
  | 'MsgSnapStatus' // local: how sending a snapshot went
  | 'MsgCheckQuorum' // local: leader, check that a quorum is still active
  | 'MsgTransferLeader'
  | 'MsgTimeoutNow'
  | 'MsgReadIndex'
  | 'MsgReadIndexResp';

export interface Message {
  type: MessageType;
  to: NodeId;
  from: NodeId;
  term: number;
  /** For MsgApp: term of the entry at `index`; for a rejection: the term at `rejectHint`. */
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  reject: boolean;
  rejectHint: number;
  snapshot?: Snapshot;
  /** Opaque: a ReadIndex request's context on heartbeats, campaign-transfer on votes. */
  context?: Uint8Array;
}

/** A linearizable read may be served once the applied index reaches `index`. */
export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

/** The work the application must do, in order: persist, send, apply; then call advance(). */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  readStates: ReadState[];
  /** To append to stable storage before sending `messages`. */
  entries: Entry[];
  snapshot?: Snapshot;
  /** To apply to the state machine; they are durable already (or in this Ready's `entries`). */
  committedEntries: Entry[];
  messages: Message[];
  /** Whether hardState/entries must be fsynced (false when only the commit index moved). */
  mustSync: boolean;
}

/** Builds a message with the fields a sender leaves unset at their zero value. */
export function message(m: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    to: NONE, from: NONE, term: 0, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, ...m,
  };
}

export function isLocalMessage(t: MessageType): boolean {
  return t === 'MsgHup' || t === 'MsgBeat' || t === 'MsgUnreachable' || t === 'MsgSnapStatus' || t === 'MsgCheckQuorum';
}

export function isResponseMessage(t: MessageType): boolean {
  return t === 'MsgAppResp' || t === 'MsgVoteResp' || t === 'MsgHeartbeatResp' || t === 'MsgUnreachable' || t === 'MsgPreVoteResp';
}

export function voteResponseType(t: MessageType): MessageType {
  return t === 'MsgPreVote' ? 'MsgPreVoteResp' : 'MsgVoteResp';
}

export function isEmptyHardState(h: HardState): boolean {
  return h.term === 0 && h.vote === NONE && h.commit === 0;
}
