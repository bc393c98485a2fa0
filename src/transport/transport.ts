import type { Message, NodeId } from '../raft/types';

/**
 * How Raft messages travel between members. send() never blocks and never throws: a slow or dead
 * peer must not hold up the leader or the others. What cannot be delivered is reported back.
 */
export interface PeerTransport {
  send(msgs: Message[]): void;
  /** Where messages from peers go, and where delivery failures are reported. */
  attach(receiver: TransportReceiver): void;
  close(): Promise<void>;
}

export interface TransportReceiver {
  receive(m: Message): void;
  /** A message to `to` could not be sent; Raft slows down replication to it. */
  unreachable(to: NodeId): void;
  /** A snapshot reached `to` (or failed to). */
  snapshotSent(to: NodeId, failed: boolean): void;
}
