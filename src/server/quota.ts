import type { InternalRequest } from '../generated/keelpb/InternalRequest';
import type { PutRequest } from '../generated/etcdserverpb/PutRequest';
import type { TxnRequest } from '../generated/etcdserverpb/TxnRequest';

/** etcd's default backend quota (--quota-backend-bytes 0): 2 GiB. */
export const DEFAULT_QUOTA_BYTES = 2 * 1024 ** 3;
/** Above this etcd warns that performance may suffer: 8 GiB. */
export const MAX_SUGGESTED_QUOTA_BYTES = 8 * 1024 ** 3;

/** etcd's estimates of what storing a key's metadata and a lease costs, in bytes. */
const KV_OVERHEAD = 256;
const LEASE_OVERHEAD = 64;

/** The quota in force for a --quota-backend-bytes value: 0 means the default, negative none. */
export function effectiveQuota(flag: number): number {
  if (flag < 0) return Infinity;
  return flag === 0 ? DEFAULT_QUOTA_BYTES : flag;
}

/**
 * etcd's cost of a request against the quota: a put's key, value and metadata; a txn's costlier
 * branch (its top-level puts only, as etcd counts); a lease grant's overhead; anything else is free.
 * A request of cost 0 is never refused for space, so deletes and compaction always work.
 */
export function quotaCost(req: InternalRequest): number {
  if (req.put != null) return putCost(req.put);
  if (req.txn != null) return txnCost(req.txn);
  if (req.lease_grant != null) return LEASE_OVERHEAD;
  return 0;
}

function putCost(put: PutRequest): number {
  return KV_OVERHEAD + byteLength(put.key) + byteLength(put.value);
}

function txnCost(txn: TxnRequest): number {
  const branch = (ops: TxnRequest['success']) =>
    (ops ?? []).reduce((sum, op) => sum + (op.request_put != null ? putCost(op.request_put) : 0), 0);
  return Math.max(branch(txn.success), branch(txn.failure));
}

function byteLength(b: Uint8Array | string | undefined): number {
  return typeof b === 'string' ? Buffer.byteLength(b) : b?.length ?? 0;
}
