import { status } from '@grpc/grpc-js';
import { LeaseExistsError, LeaseNotFoundError, LeaseTtlTooLargeError } from '../lease/errors';
import { CompactedError, FutureRevisionError } from '../mvcc/errors';
import { ServerError, ServerErrorReason } from '../server/errors';

/** A failure as the client sees it: etcd's gRPC code and its exact message text. */
export interface GrpcFailure {
  code: status;
  details: string;
}

/**
 * THE table from our error classes to etcd's wire errors (etcd's rpctypes). Clients match on
 * the text, and on the code to decide whether to retry elsewhere, so both must be exact.
 */
const BY_REASON: Record<ServerErrorReason, GrpcFailure> = {
  'empty-key': { code: status.INVALID_ARGUMENT, details: 'etcdserver: key is not provided' },
  'key-not-found': { code: status.INVALID_ARGUMENT, details: 'etcdserver: key not found' },
  'value-provided': { code: status.INVALID_ARGUMENT, details: 'etcdserver: value is provided' },
  'lease-provided': { code: status.INVALID_ARGUMENT, details: 'etcdserver: lease is provided' },
  'too-many-ops': { code: status.INVALID_ARGUMENT, details: 'etcdserver: too many operations in txn request' },
  'duplicate-key': { code: status.INVALID_ARGUMENT, details: 'etcdserver: duplicate key given in txn request' },
  'invalid-sort-option': { code: status.INVALID_ARGUMENT, details: 'etcdserver: invalid sort option' },
  'request-too-large': { code: status.INVALID_ARGUMENT, details: 'etcdserver: request is too large' },
  stopped: { code: status.UNAVAILABLE, details: 'etcdserver: server stopped' },
  timeout: { code: status.UNAVAILABLE, details: 'etcdserver: request timed out' },
  'no-leader': { code: status.UNAVAILABLE, details: 'etcdserver: no leader' },
  'member-exists': { code: status.FAILED_PRECONDITION, details: 'etcdserver: member ID already exist' },
  // etcd answers a change to a removed member as if it were not there.
  'member-id-removed': { code: status.NOT_FOUND, details: 'etcdserver: member not found' },
  'peer-url-exists': { code: status.FAILED_PRECONDITION, details: 'etcdserver: Peer URLs already exists' },
  'member-not-found': { code: status.NOT_FOUND, details: 'etcdserver: member not found' },
  'member-not-learner': { code: status.FAILED_PRECONDITION, details: 'etcdserver: can only promote a learner member' },
  'learner-not-ready': {
    code: status.FAILED_PRECONDITION, details: 'etcdserver: can only promote a learner member which is in sync with leader',
  },
  'too-many-learners': { code: status.FAILED_PRECONDITION, details: 'etcdserver: too many learner members in cluster' },
  'not-enough-started-members': {
    code: status.FAILED_PRECONDITION, details: 'etcdserver: re-configuration failed due to not enough started members',
  },
  unhealthy: { code: status.UNAVAILABLE, details: 'etcdserver: unhealthy cluster' },
  'bad-member-urls': { code: status.INVALID_ARGUMENT, details: 'etcdserver: given member URLs are invalid' },
  'not-supported-for-learner': { code: status.UNAVAILABLE, details: 'etcdserver: rpc not supported for learner' },
  'no-space': { code: status.RESOURCE_EXHAUSTED, details: 'etcdserver: mvcc: database space exceeded' },
  corrupt: { code: status.DATA_LOSS, details: 'etcdserver: corrupt cluster' },
  'not-leader': { code: status.FAILED_PRECONDITION, details: 'etcdserver: not leader' },
  'bad-leader-transferee': { code: status.FAILED_PRECONDITION, details: 'etcdserver: bad leader transferee' },
  // etcd has no gRPC error for it, so its text reaches the client with code Unknown.
  'leader-transfer-timeout': { code: status.UNKNOWN, details: 'etcdserver: request timed out, leader transfer took too long' },
  'root-user-not-exist': { code: status.FAILED_PRECONDITION, details: 'etcdserver: root user does not exist' },
  'root-role-not-exist': { code: status.FAILED_PRECONDITION, details: 'etcdserver: root user does not have root role' },
  'auth-failed': { code: status.INVALID_ARGUMENT, details: 'etcdserver: authentication failed, invalid user ID or password' },
  // etcd's rpctypes has no entry for it: its auth package's text reaches the client with code Unknown.
  'no-password-user': { code: status.UNKNOWN, details: 'auth: authentication failed, password was given for no password user' },
  'auth-not-enabled': { code: status.FAILED_PRECONDITION, details: 'etcdserver: authentication is not enabled' },
  'invalid-auth-token': { code: status.UNAUTHENTICATED, details: 'etcdserver: invalid auth token' },
  'permission-denied': { code: status.PERMISSION_DENIED, details: 'etcdserver: permission denied' },
  'auth-old-revision': { code: status.INVALID_ARGUMENT, details: 'etcdserver: revision of auth store is old' },
  'user-empty': { code: status.INVALID_ARGUMENT, details: 'etcdserver: user name is empty' },
  'user-already-exist': { code: status.FAILED_PRECONDITION, details: 'etcdserver: user name already exists' },
  'user-not-found': { code: status.FAILED_PRECONDITION, details: 'etcdserver: user name not found' },
  'role-empty': { code: status.INVALID_ARGUMENT, details: 'etcdserver: role name is empty' },
  'role-already-exist': { code: status.FAILED_PRECONDITION, details: 'etcdserver: role name already exists' },
  'role-not-found': { code: status.FAILED_PRECONDITION, details: 'etcdserver: role name not found' },
  'role-not-granted': { code: status.FAILED_PRECONDITION, details: 'etcdserver: role is not granted to the user' },
  'permission-not-granted': { code: status.FAILED_PRECONDITION, details: 'etcdserver: permission is not granted to the role' },
  'invalid-auth-mgmt': { code: status.INVALID_ARGUMENT, details: 'etcdserver: invalid auth management' },
  // etcd has no such check (its IDs are signed); Keel keys leases by unsigned IDs.
  'lease-id-negative': { code: status.INVALID_ARGUMENT, details: 'etcdserver: lease ID must not be negative' },
};

export function toGrpcFailure(err: unknown): GrpcFailure {
  if (err instanceof ServerError) return BY_REASON[err.reason];
  if (err instanceof LeaseNotFoundError) return { code: status.NOT_FOUND, details: 'etcdserver: requested lease not found' };
  if (err instanceof LeaseExistsError) return { code: status.FAILED_PRECONDITION, details: 'etcdserver: lease already exists' };
  if (err instanceof LeaseTtlTooLargeError) return { code: status.OUT_OF_RANGE, details: 'etcdserver: too large lease TTL' };
  if (err instanceof CompactedError) {
    return { code: status.OUT_OF_RANGE, details: 'etcdserver: mvcc: required revision has been compacted' };
  }
  if (err instanceof FutureRevisionError) {
    return { code: status.OUT_OF_RANGE, details: 'etcdserver: mvcc: required revision is a future revision' };
  }
  return { code: status.UNKNOWN, details: err instanceof Error ? err.message : String(err) };
}

/** The failure as the error object grpc-js sends (a callback's or an emitted 'error'). */
export function toServiceError(err: unknown): GrpcFailure & { name: string; message: string } {
  const failure = toGrpcFailure(err);
  return { ...failure, name: 'Error', message: failure.details };
}

/** The failure as Go's status error prints it, which etcd puts in a cancelled watch's reason. */
export function goStatusText(failure: GrpcFailure): string {
  const name = status[failure.code] ?? 'UNKNOWN';
  const goName = name === 'CANCELLED' ? 'Canceled' : name.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _u: string, c: string) => c.toUpperCase());
  return `rpc error: code = ${goName} desc = ${failure.details}`;
}
