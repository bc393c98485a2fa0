import { invariant } from '../util/invariant';
import { Logger } from '../util/logger';
import { Rand } from '../util/rand';
import { RaftStorage } from './storage';
import { ConfState, NodeId, NONE } from './types';

export interface RaftConfig {
  /** This node's ID; never NONE. */
  id: NodeId;
  /** Ticks without hearing from a leader before a follower campaigns; randomized in [n, 2n). */
  electionTicks: number;
  /** Ticks between a leader's heartbeats. etcd suggests electionTicks = 10 × heartbeatTicks. */
  heartbeatTicks: number;
  storage: RaftStorage;
  /** The last applied index on restart (entries up to it are not handed out again). */
  applied: number;
  /** Most entry bytes in one MsgApp (etcd: 1 MiB); at least one entry is always sent. */
  maxSizePerMsg: number;
  /** Most MsgApps in flight to one follower in replicate state (etcd: 512). */
  maxInflightMsgs: number;
  /** A leader that has not heard from a quorum for an election timeout steps down. */
  checkQuorum: boolean;
  /** Candidates first ask whether they could win, so a partitioned node cannot disrupt with higher terms. */
  preVote: boolean;
  /**
   * The configuration as of `applied`, which the application keeps with its applied index (it
   * may be newer than the storage's snapshot). Empty: take the snapshot's.
   */
  confState: ConfState;
  rand: Rand;
  logger: Logger;
}

export function validateRaftConfig(c: RaftConfig): void {
  invariant(c.id !== NONE, 'cannot use none as id');
  invariant(c.heartbeatTicks > 0, 'heartbeat tick must be greater than 0');
  invariant(c.electionTicks > c.heartbeatTicks, 'election tick must be greater than heartbeat tick');
  invariant(c.maxInflightMsgs > 0, 'max inflight messages must be greater than 0');
}
