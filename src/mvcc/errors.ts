/**
 * Expected failures of the MVCC layer. The API layer maps each class to etcd's gRPC code and text
 * in its one table; the messages here are etcd's own (mvcc.ErrCompacted, mvcc.ErrFutureRev).
 */
export class CompactedError extends Error {
  override name = 'CompactedError';
  constructor() {
    super('mvcc: required revision has been compacted');
  }
}

export class FutureRevisionError extends Error {
  override name = 'FutureRevisionError';
  constructor() {
    super('mvcc: required revision is a future revision');
  }
}
