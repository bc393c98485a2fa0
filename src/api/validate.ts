import type { DeleteRangeRequest__Output } from '../generated/etcdserverpb/DeleteRangeRequest';
import type { PutRequest__Output } from '../generated/etcdserverpb/PutRequest';
import type { RangeRequest__Output } from '../generated/etcdserverpb/RangeRequest';
import type { RequestOp__Output } from '../generated/etcdserverpb/RequestOp';
import type { TxnRequest__Output } from '../generated/etcdserverpb/TxnRequest';
import { KeySpan, spanContains } from '../mvcc/tree-index';
import { isFromKey, spanOf } from '../server/apply/span';
import { ServerError } from '../server/errors';
import { toKeyString } from '../util/bytes';

/** Request checks done before the server core sees a request, as etcd's v3rpc does them. */

const SORT_ORDERS = new Set(['NONE', 'ASCEND', 'DESCEND']);
const SORT_TARGETS = new Set(['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE']);

export function checkRangeRequest(r: RangeRequest__Output): void {
  if (r.key.length === 0) throw new ServerError('empty-key');
  // An enum number this proto does not know arrives as a number instead of a name.
  if (!SORT_ORDERS.has(r.sort_order) || !SORT_TARGETS.has(r.sort_target)) throw new ServerError('invalid-sort-option');
}

export function checkPutRequest(r: PutRequest__Output): void {
  if (r.key.length === 0) throw new ServerError('empty-key');
  if (r.ignore_value && r.value.length !== 0) throw new ServerError('value-provided');
  if (r.ignore_lease && r.lease !== '0') throw new ServerError('lease-provided');
}

export function checkDeleteRequest(r: DeleteRangeRequest__Output): void {
  if (r.key.length === 0) throw new ServerError('empty-key');
}

/** Size limits first, then each operation, then keys written twice on one path. */
export function checkTxnRequest(r: TxnRequest__Output, maxTxnOps: number): void {
  checkTxnShape(r, maxTxnOps);
  checkIntervals(r.success);
  checkIntervals(r.failure);
}

function checkTxnShape(r: TxnRequest__Output, maxTxnOps: number): void {
  if (Math.max(r.compare.length, r.success.length, r.failure.length) > maxTxnOps) throw new ServerError('too-many-ops');
  for (const c of r.compare) if (c.key.length === 0) throw new ServerError('empty-key');
  // As etcd: a nested txn may use only what this level leaves of the limit.
  const left = maxTxnOps - Math.max(r.compare.length, r.success.length, r.failure.length);
  for (const op of [...r.success, ...r.failure]) checkRequestOp(op, left);
}

function checkRequestOp(op: RequestOp__Output, maxTxnOps: number): void {
  if (op.request_range != null) checkRangeRequest(op.request_range);
  else if (op.request_put != null) checkPutRequest(op.request_put);
  else if (op.request_delete_range != null) checkDeleteRequest(op.request_delete_range);
  else if (op.request_txn != null) checkTxnShape(op.request_txn, maxTxnOps);
  // An operation with no request in it, as etcd answers it.
  else throw new ServerError('key-not-found');
}

/**
 * etcd's checkIntervals: within one branch a key may not be put twice, nor put and deleted.
 * Nested txns count with their parent; their then- and else-branches exclude each other.
 * Returns the keys put and the ranges deleted on this level and below, and for the check below
 * the puts that borrow from the existing key and the deletes "from key on".
 */
interface Intervals { puts: Set<string>; dels: KeySpan[]; borrowing: Set<string>; fromKey: KeySpan[] }

function checkIntervals(ops: RequestOp__Output[]): Intervals {
  const dels: KeySpan[] = [];
  const fromKey: KeySpan[] = [];
  const borrowing = new Set<string>();
  for (const op of ops) {
    const d = op.request_delete_range;
    if (d == null) continue;
    dels.push(intervalOf(d.key, d.range_end));
    if (isFromKey(d.range_end)) fromKey.push(spanOf(d.key, d.range_end));
  }
  const deleted = (key: string) => dels.some((span) => spanContains(span, key));
  const puts = new Set<string>();
  for (const op of ops) {
    if (op.request_txn == null) continue;
    const then = checkIntervals(op.request_txn.success);
    const otherwise = checkIntervals(op.request_txn.failure);
    for (const k of then.puts) {
      if (puts.has(k) || deleted(k)) throw new ServerError('duplicate-key');
      puts.add(k);
    }
    for (const k of otherwise.puts) {
      if ((puts.has(k) && !then.puts.has(k)) || deleted(k)) throw new ServerError('duplicate-key');
      puts.add(k);
    }
    dels.push(...then.dels, ...otherwise.dels);
    fromKey.push(...then.fromKey, ...otherwise.fromKey);
    for (const k of [...then.borrowing, ...otherwise.borrowing]) borrowing.add(k);
  }
  for (const op of ops) {
    const p = op.request_put;
    if (p == null) continue;
    const k = toKeyString(p.key);
    if (puts.has(k) || deleted(k)) throw new ServerError('duplicate-key');
    puts.add(k);
    if (p.ignore_value || p.ignore_lease) borrowing.add(k);
  }
  // etcd lets a put that borrows from its key through beside a delete "from key on" of that key,
  // then panics applying it (the key is gone when the put reads it): refused here.
  for (const k of borrowing) if (fromKey.some((span) => spanContains(span, k))) throw new ServerError('duplicate-key');
  return { puts, dels, borrowing, fromKey };
}

/**
 * A delete's interval as etcd's checkIntervals builds it, from the raw range_end (no mkGteRange):
 * "\0" there is the interval [key, "\x00"), which holds no key, not "every key from `key` on".
 */
function intervalOf(key: Buffer, rangeEnd: Buffer): KeySpan {
  return { start: toKeyString(key), end: rangeEnd.length === 0 ? undefined : toKeyString(rangeEnd) };
}
