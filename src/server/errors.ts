/**
 * Expected failures of the server core, one reason per failure mode. The API layer's single table
 * (api/grpc-errors.ts) turns each reason into etcd's gRPC code and message text.
 */
export type ServerErrorReason =
  | 'empty-key'
  | 'key-not-found'
  | 'value-provided'
  | 'lease-provided'
  | 'too-many-ops'
  | 'duplicate-key'
  | 'invalid-sort-option'
  | 'request-too-large'
  | 'stopped'
  | 'timeout'
  | 'no-leader'
  | 'member-exists'
  | 'member-id-removed'
  | 'peer-url-exists'
  | 'member-not-found'
  | 'member-not-learner'
  | 'learner-not-ready'
  | 'too-many-learners'
  | 'not-enough-started-members'
  | 'unhealthy'
  | 'bad-member-urls'
  | 'not-supported-for-learner'
  | 'no-space'
  | 'corrupt'
  | 'not-leader'
  | 'bad-leader-transferee'
  | 'leader-transfer-timeout'
  | 'root-user-not-exist'
  | 'root-role-not-exist'
  | 'auth-failed'
  | 'no-password-user'
  | 'auth-not-enabled'
  | 'invalid-auth-token'
  | 'permission-denied'
  | 'auth-old-revision'
  | 'user-empty'
  | 'user-already-exist'
  | 'user-not-found'
  | 'role-empty'
  | 'role-already-exist'
  | 'role-not-found'
  | 'role-not-granted'
  | 'permission-not-granted'
  | 'invalid-auth-mgmt'
  | 'lease-id-negative';

export class ServerError extends Error {
  override name = 'ServerError';
  constructor(readonly reason: ServerErrorReason) {
    super(reason);
  }
}

/** A flag or data-dir problem found before the member starts serving. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
