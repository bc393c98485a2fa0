import * as grpc from '@grpc/grpc-js';
import type { DeleteRangeRequest__Output } from '../generated/etcdserverpb/DeleteRangeRequest';
import type { PutRequest__Output } from '../generated/etcdserverpb/PutRequest';
import type { RangeRequest__Output } from '../generated/etcdserverpb/RangeRequest';
import type { TxnRequest__Output } from '../generated/etcdserverpb/TxnRequest';
import type { TokenHolder } from '../server/auth-tokens';
import { ServerError, type ServerErrorReason } from '../server/errors';
import { KeelServer } from '../server/keel-server';
import { isTxnReadOnly } from '../server/apply/txn';
import { EMPTY_BYTES } from '../util/bytes';
import { toServiceError } from './grpc-errors';

/** What a method asks of its caller once auth is on; `user` is who the caller is (caller()). */
type Check = (server: KeelServer, user: TokenHolder, request: never) => void;

const admin: Check = (server, user) => server.checkAdmin(user);

/** Revoking a lease deletes its keys, so whoever revokes it, or attaches more keys to it, must be allowed to write them all. */
function checkLeaseKeys(server: KeelServer, user: TokenHolder, lease: string): void {
  for (const key of server.leaseKeys(BigInt(lease))) server.checkPermitted(user, key, EMPTY_BYTES, 'write');
}

/**
 * etcd's authMaintenanceServer (3.4, 3.5) returns its auth package's errors as they are, not as
 * rpctypes errors: the client sees code Unknown and these texts.
 */
const MAINTENANCE_AUTH_TEXT: Partial<Record<ServerErrorReason, string>> = {
  'invalid-auth-token': 'auth: invalid auth token',
  'user-empty': 'auth: user name is empty',
  'user-not-found': 'auth: user not found',
  'permission-denied': 'auth: permission denied',
};

function checkRange(server: KeelServer, user: TokenHolder, r: RangeRequest__Output): void {
  server.checkPermitted(user, r.key, r.range_end, 'read');
}

function checkPut(server: KeelServer, user: TokenHolder, r: PutRequest__Output): void {
  server.checkPermitted(user, r.key, EMPTY_BYTES, 'write');
  checkLeaseKeys(server, user, r.lease);
  if (r.prev_kv) server.checkPermitted(user, r.key, EMPTY_BYTES, 'read');
}

function checkDelete(server: KeelServer, user: TokenHolder, r: DeleteRangeRequest__Output): void {
  server.checkPermitted(user, r.key, r.range_end, 'write');
  if (r.prev_kv) server.checkPermitted(user, r.key, r.range_end, 'read');
}

/** A txn needs read access to what it compares and whatever its operations need, in both branches. */
function checkTxn(server: KeelServer, user: TokenHolder, t: TxnRequest__Output): void {
  for (const c of t.compare) server.checkPermitted(user, c.key, c.range_end, 'read');
  for (const op of [...t.success, ...t.failure]) {
    if (op.request_range) checkRange(server, user, op.request_range);
    if (op.request_put) checkPut(server, user, op.request_put);
    if (op.request_delete_range) checkDelete(server, user, op.request_delete_range);
    if (op.request_txn) checkTxn(server, user, op.request_txn);
  }
}

/**
 * The methods auth guards, as etcd guards them: key access for KV calls and lease revocation,
 * the root role for maintenance that touches the whole member, membership changes and auth
 * management. Methods not listed (Status, MemberList, LeaseGrant, keep-alives, Authenticate,
 * AuthStatus) are open to any caller. Watch checks each watcher it creates (watch-service.ts).
 */
const CHECKS: Record<string, Check> = {
  '/etcdserverpb.KV/Range': checkRange as Check,
  '/etcdserverpb.KV/Put': checkPut as Check,
  '/etcdserverpb.KV/DeleteRange': checkDelete as Check,
  '/etcdserverpb.KV/Txn': checkTxn as Check,
  '/etcdserverpb.Lease/LeaseRevoke': ((server, user, r: { ID: string }) => checkLeaseKeys(server, user, r.ID)) as Check,
  // The names of a lease's keys are for those who may read them (CVE-2023-32082, fixed in etcd 3.4.26).
  '/etcdserverpb.Lease/LeaseTimeToLive': ((server, user, r: { ID: string; keys: boolean }) => {
    if (r.keys) for (const key of server.leaseKeys(BigInt(r.ID))) server.checkPermitted(user, key, EMPTY_BYTES, 'read');
  }) as Check,
  ...Object.fromEntries(['Defragment', 'Hash', 'HashKV', 'Snapshot', 'MoveLeader'].map((m) => [`/etcdserverpb.Maintenance/${m}`, admin])),
  ...Object.fromEntries(['MemberAdd', 'MemberRemove', 'MemberUpdate', 'MemberPromote'].map((m) => [`/etcdserverpb.Cluster/${m}`, admin])),
  ...Object.fromEntries([
    'AuthEnable', 'AuthDisable', 'UserAdd', 'UserList', 'UserDelete', 'UserChangePassword', 'UserGrantRole',
    'UserRevokeRole', 'RoleAdd', 'RoleList', 'RoleDelete', 'RoleGrantPermission', 'RoleRevokePermission',
  ].map((m) => [`/etcdserverpb.Auth/${m}`, admin])),
  // As etcd's authApplierV3: any user may read itself, and the roles it holds.
  '/etcdserverpb.Auth/UserGet': ((server, user, r: { name: string }) => {
    if (r.name !== user.user) server.checkAdmin(user);
  }) as Check,
  '/etcdserverpb.Auth/RoleGet': ((server, user, r: { role: string }) => {
    if (!server.callerHasRole(user, r.role)) server.checkAdmin(user);
  }) as Check,
};

/** The maintenance methods whose auth refusals keep etcd's raw auth texts (MAINTENANCE_AUTH_TEXT). */
const RAW_AUTH_ERRORS = new Set(['Defragment', 'Hash', 'HashKV', 'Snapshot'].map((m) => `/etcdserverpb.Maintenance/${m}`));

/**
 * Whether a call reads without going through the log. It is checked again once its answer is
 * ready: a linearizable read waits until this member has applied everything committed before it
 * began, an auth change the leader confirmed included, and etcd checks it after that wait. The
 * check before the wait only saves the read's work for a caller refused already.
 */
function readsAround(path: string, request: unknown): boolean {
  return path === '/etcdserverpb.KV/Range' || (path === '/etcdserverpb.KV/Txn' && isTxnReadOnly(request as TxnRequest__Output));
}

/** Whether a method is guarded at all (the rest skip even the token lookup). */
function isGuarded(path: string): boolean {
  return path in CHECKS;
}

/** The part of any server call auth looks at. */
type CallWithMetadata = Pick<grpc.ServerUnaryCall<unknown, unknown>, 'metadata' | 'getAuthContext'>;

/** Who makes the call: its `token` metadata, else its client certificate's common name. */
export function callerOf(server: KeelServer, call: CallWithMetadata): TokenHolder | undefined {
  const token = call.metadata.get('token')[0];
  return server.caller(token === undefined ? undefined : String(token), () => {
    const commonName = call.getAuthContext()?.sslPeerCertificate?.subject?.CN;
    return typeof commonName === 'string' ? commonName : undefined;
  });
}

/** Throws etcd's error when the caller may not make this call with this request. */
function authorize(server: KeelServer, path: string, call: CallWithMetadata, request: unknown): void {
  try {
    const user = callerOf(server, call);
    if (user !== undefined) CHECKS[path]!(server, user, request as never);
  } catch (err) {
    const raw = RAW_AUTH_ERRORS.has(path) && err instanceof ServerError ? MAINTENANCE_AUTH_TEXT[err.reason] : undefined;
    throw raw === undefined ? err : new Error(raw);
  }
}

/**
 * The service's handlers, each guarded method checking its caller before it runs; a refused call
 * gets etcd's status and never reaches the server core.
 */
export function guardService<T extends object>(server: KeelServer, definition: grpc.ServiceDefinition, impl: T): T {
  const out: Record<string, unknown> = { ...(impl as Record<string, unknown>) };
  for (const [name, handler] of Object.entries(impl as Record<string, unknown>)) {
    const method = definition[name];
    if (method === undefined || !isGuarded(method.path) || typeof handler !== 'function') continue;
    out[name] = method.responseStream
      ? (call: grpc.ServerWritableStream<unknown, unknown>) => {
        try {
          authorize(server, method.path, call, call.request);
        } catch (err) {
          call.emit('error', toServiceError(err));
          return;
        }
        handler(call);
      }
      : (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        try {
          authorize(server, method.path, call, call.request);
        } catch (err) {
          callback(toServiceError(err));
          return;
        }
        if (!readsAround(method.path, call.request)) return void handler(call, callback);
        const checkedAgain: grpc.sendUnaryData<unknown> = (err, answer) => {
          if (err === null) {
            try {
              authorize(server, method.path, call, call.request);
            } catch (refusal) {
              return callback(toServiceError(refusal));
            }
          }
          callback(err, answer);
        };
        handler(call, checkedAgain);
      };
  }
  return out as T;
}
