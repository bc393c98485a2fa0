import type { Message, NodeId } from '../raft/types';

/**
 * How Raft messages travel between members. send() never blocks and never throws: a slow or dead
 * peer must not hold up the leader or the others. What cannot be delivered is reported back.
 */
export interface PeerTransport {
  /**
   * Every message but MsgSnap, which goes with its state by sendSnapshot. Handed to the
   * connections before it returns (the caller may then block the event loop on an fsync).
   */
  send(msgs: Message[]): void;
  /**
   * Sends a MsgSnap whose state follows in `state`, read as the link takes it, so the first
   * pieces are on their way before the last are read. Resolves once it stopped reading `state`
   * (all read, or given up); the outcome is reported to the receiver's snapshotSent.
   */
  sendSnapshot(m: Message, state: AsyncIterable<Uint8Array>): Promise<void>;
  /** Asks the leader `to` about a lease (only the leader counts lease time). */
  forwardLease(to: NodeId, req: LeaseForward): Promise<LeaseForwardReply>;
  /** Where messages from peers go, and where delivery failures are reported. */
  attach(receiver: TransportReceiver): void;
  /** Asks the leader `to` whether a learner has caught up enough to be promoted. */
  learnerReady(to: NodeId, learner: NodeId): Promise<boolean>;
  /** Asks the leader `to` which voters it has heard from lately (it refuses if it no longer leads). */
  activeVoters(to: NodeId): Promise<Set<NodeId>>;
  /**
   * A member was added, or its peer URLs changed (the first URL is used). Given this member's own,
   * they are where it tells peers it is reached.
   */
  setPeer(id: NodeId, peerURLs: string[]): void;
  /** A member was removed: nothing more is sent to it. */
  removePeer(id: NodeId): void;
  close(): Promise<void>;
}

export interface TransportReceiver {
  receive(m: Message): void;
  /**
   * A MsgSnap (`head`, without its state) whose state is arriving: what takes the pieces as they
   * come. Once the state came whole, snapshotArrived() follows; if it never does, the intake is
   * dropped.
   */
  snapshotIntake(head: Message): SnapshotIntake;
  /**
   * Every piece of `head`'s state went into `intake` (from snapshotIntake): the message goes to
   * Raft, the state staying with the intake. Returns why it was refused, if it was.
   */
  snapshotArrived(head: Message, intake: SnapshotIntake): string | undefined;
  /** A message to `to` could not be sent; Raft slows down replication to it. */
  unreachable(to: NodeId): void;
  /** A snapshot reached `to` (or failed to). */
  snapshotSent(to: NodeId, failed: boolean): void;
  /** A follower's lease question, answered by this member as leader. */
  leaseRequest(req: LeaseForward): Promise<LeaseForwardReply>;
  /** Whether a learner has caught up enough to be promoted (asked of the leader). */
  learnerReady(learner: NodeId): boolean;
  /** Voters heard from lately, itself included (asked of the leader); undefined unless it leads. */
  activeVoters(): Set<NodeId> | undefined;
  /** Whether `id` was removed from the cluster (its messages are refused, and it is told so). */
  isRemoved(id: NodeId): boolean;
  /** A peer said this member was removed from the cluster. */
  removed(): void;
  /** The cluster as this member knows it, for a member that is joining. */
  clusterInfo(): ClusterInfo;
}

/** Where a snapshot's state goes while it arrives (a member prepares its install meanwhile). */
export interface SnapshotIntake {
  /** The next piece; the one after it is given once this has resolved. Never rejects. */
  add(piece: Buffer): Promise<void>;
  /** The state will not come whole. */
  drop(): void;
  /** Why what it took is not a whole state, if it is not. */
  unfit(): string | undefined;
}

export interface ClusterInfo {
  clusterId: bigint;
  members: Array<{ id: NodeId; name: string; peerURLs: string[]; clientURLs: string[]; isLearner: boolean }>;
}

/** Renew a lease (keep-alive), or read its time to live (and its keys). */
export interface LeaseForward {
  renew: boolean;
  id: bigint;
  keys: boolean;
}

export interface LeaseForwardReply {
  found: boolean;
  ttl: number;
  grantedTtl: number;
  keys: Buffer[];
}
