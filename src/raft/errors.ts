/** Expected refusals of the Raft core; the server turns them into etcd's errors. */
export class ProposalDroppedError extends Error {
  override name = 'ProposalDroppedError';
  constructor() {
    super('raft proposal dropped');
  }
}

/** Asked for entries the storage has compacted away; the leader sends a snapshot instead. */
export class LogCompactedError extends Error {
  override name = 'LogCompactedError';
  constructor() {
    super('requested index is unavailable due to compaction');
  }
}

export class StepLocalMessageError extends Error {
  override name = 'StepLocalMessageError';
  constructor() {
    super('raft: cannot step raft local message');
  }
}

export class StepPeerNotFoundError extends Error {
  override name = 'StepPeerNotFoundError';
  constructor() {
    super('raft: cannot step as peer not found');
  }
}
