import type { Compare__Output } from '../../generated/etcdserverpb/Compare';
import type { RequestOp__Output } from '../../generated/etcdserverpb/RequestOp';
import type { ResponseOp } from '../../generated/etcdserverpb/ResponseOp';
import type { TxnRequest__Output } from '../../generated/etcdserverpb/TxnRequest';
import type { TxnResponse } from '../../generated/etcdserverpb/TxnResponse';
import { CompactedError, FutureRevisionError } from '../../mvcc/errors';
import { KeyValue } from '../../mvcc/key-value';
import { KvView } from '../../mvcc/kv-store';
import { WriteTxn } from '../../mvcc/write-txn';
import { invariant } from '../../util/invariant';
import { AnswerReads, applyDeleteRange, applyPut, checkPut, LeaseExists } from './put-delete';
import { applyRange } from './range';
import { spanOf } from './span';
import { EMPTY_BYTES } from '../../util/bytes';

/**
 * etcd's Txn, in three passes so a failing request changes nothing: (1) evaluate every compare on
 * the branch taken, nested ones included, against the state before the txn; (2) check the chosen
 * operations; (3) run them, each seeing the writes before it, all at one revision.
 */
export async function applyTxn(view: KvView, req: TxnRequest__Output, leaseExists: LeaseExists, answer: AnswerReads): Promise<TxnResponse> {
  const path = await compareToPath(view, req);
  await checkRequests(view, req, [...path], leaseExists);
  const resp = await execute(view, req, path, leaseExists, answer);
  resp.header = { revision: view.headRev };
  return resp;
}

/**
 * Whether the txn can be answered from a read view, without a revision of its own: only ranges,
 * as etcd's isTxnReadonly (a nested txn, even of ranges alone, goes through Raft there too).
 */
export function isTxnReadOnly(req: TxnRequest__Output): boolean {
  return [...req.success, ...req.failure].every((op) => op.request_range != null);
}

/** The branch each txn on the way takes, in depth-first order. */
async function compareToPath(view: KvView, req: TxnRequest__Output): Promise<boolean[]> {
  let succeeded = true;
  for (const c of req.compare) {
    if (!(await applyCompare(view, c))) {
      succeeded = false;
      break;
    }
  }
  const path = [succeeded];
  for (const op of succeeded ? req.success : req.failure) {
    if (op.request_txn != null) path.push(...(await compareToPath(view, op.request_txn)));
  }
  return path;
}

async function applyCompare(view: KvView, c: Compare__Output): Promise<boolean> {
  let kvs: KeyValue[];
  try {
    // Revisions and versions are in the key index: only a value or lease compare reads records.
    const indexOnly = c.target === 'MOD' || c.target === 'CREATE' || c.target === 'VERSION';
    kvs = (await view.range(spanOf(c.key, c.range_end), { rev: 0, limit: 0, countOnly: false, indexOnly })).kvs;
  } catch (err) {
    if (err instanceof CompactedError) return false;
    throw err;
  }
  // A missing key has no value to compare, whatever the operator.
  if (kvs.length === 0) return c.target === 'VALUE' ? false : compareKv(c, MISSING);
  return kvs.every((kv) => compareKv(c, kv));
}

function compareKv(c: Compare__Output, kv: KeyValue): boolean {
  // An enum value this proto does not know arrives as a number: etcd then compares 0 and succeeds.
  let result = 0;
  switch (c.target) {
    case 'VALUE': result = Buffer.compare(kv.value, c.value ?? EMPTY_BYTES); break;
    case 'CREATE': result = Math.sign(kv.create_revision - Number(c.create_revision ?? 0)); break;
    case 'MOD': result = Math.sign(kv.mod_revision - Number(c.mod_revision ?? 0)); break;
    case 'VERSION': result = Math.sign(kv.version - Number(c.version ?? 0)); break;
    case 'LEASE': {
      const [a, b] = [BigInt(kv.lease), BigInt(c.lease ?? 0)];
      result = a === b ? 0 : a > b ? 1 : -1;
      break;
    }
  }
  switch (c.result) {
    case 'EQUAL': return result === 0;
    case 'NOT_EQUAL': return result !== 0;
    case 'GREATER': return result > 0;
    case 'LESS': return result < 0;
    default: return true;
  }
}

/**
 * As etcd's applier: every put on the chosen branches is checked before any range, so a txn that
 * fails both ways fails with the put's error (a missing lease, say) whatever the operations' order.
 */
async function checkRequests(view: KvView, req: TxnRequest__Output, path: boolean[], leaseExists: LeaseExists): Promise<void> {
  await forEachChosen(req, [...path], async (op) => {
    if (op.request_put != null) await checkPut(view, op.request_put, leaseExists);
  });
  await forEachChosen(req, [...path], (op) => {
    if (op.request_range == null) return;
    const rev = Number(op.request_range.revision);
    if (rev > view.headRev) throw new FutureRevisionError();
    // As etcd's checkRequestRange: only 0 means "now"; a negative revision is below FirstRev() once compacted.
    if (rev !== 0 && rev < view.compactRev) throw new CompactedError();
  });
}

/** The operations of the branches `path` chooses, nested txns entered; consumes `path` from the front. */
async function forEachChosen(req: TxnRequest__Output, path: boolean[], visit: (op: RequestOp__Output) => Promise<void> | void): Promise<void> {
  for (const op of path.shift() ? req.success : req.failure) {
    if (op.request_txn != null) await forEachChosen(op.request_txn, path, visit);
    else await visit(op);
  }
}

async function execute(view: KvView, req: TxnRequest__Output, path: boolean[], leaseExists: LeaseExists, answer: AnswerReads): Promise<TxnResponse> {
  const succeeded = path.shift();
  invariant(succeeded !== undefined, 'txn path shorter than the txn');
  const responses: ResponseOp[] = [];
  for (const op of succeeded ? req.success : req.failure) responses.push(await executeOp(view, op, path, leaseExists, answer));
  // Nested txn headers stay empty, as etcd's; the caller fills the outermost.
  return { header: {}, succeeded, responses };
}

async function executeOp(view: KvView, op: RequestOp__Output, path: boolean[], leaseExists: LeaseExists, answer: AnswerReads): Promise<ResponseOp> {
  if (op.request_range != null) {
    return { response_range: answer === 'read' ? await applyRange(view, op.request_range) : { header: {}, kvs: [], more: false, count: '0' } };
  }
  if (op.request_txn != null) return { response_txn: await execute(view, op.request_txn, path, leaseExists, answer) };
  invariant(view instanceof WriteTxn, 'write operation in a read-only txn');
  if (op.request_put != null) return { response_put: await applyPut(view, op.request_put, leaseExists, answer) };
  invariant(op.request_delete_range != null, 'txn operation with no request (validation lets none through)');
  return { response_delete_range: await applyDeleteRange(view, op.request_delete_range, answer) };
}

const MISSING: KeyValue = { key: EMPTY_BYTES, create_revision: 0, mod_revision: 0, version: 0, value: EMPTY_BYTES, lease: '0' };
