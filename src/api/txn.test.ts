import { status } from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import type { Compare } from '../generated/etcdserverpb/Compare';
import type { RequestOp } from '../generated/etcdserverpb/RequestOp';
import { failure, InProcessMember, startInProcessMember } from '../cmd/in-process-member';

const b = (s: string) => Buffer.from(s);
const put = (key: string, value: string): RequestOp => ({ request_put: { key: b(key), value: b(value) } });
const get = (key: string, range_end?: string): RequestOp => ({ request_range: { key: b(key), ...(range_end ? { range_end: b(range_end) } : {}) } });
const del = (key: string, range_end?: string): RequestOp => ({ request_delete_range: { key: b(key), ...(range_end ? { range_end: b(range_end) } : {}) } });

describe('Txn over gRPC', () => {
  let m: InProcessMember;
  beforeEach(async () => {
    m = await startInProcessMember();
    // k: created at 2, modified at 3, version 2, value "v2", lease 7.  other: created at 4 (the store starts at 1).
    await m.client.leaseGrant({ ID: 7, TTL: 100 }); // a lease does not take a revision
    await m.client.put({ key: b('k'), value: b('v1') });
    await m.client.put({ key: b('k'), value: b('v2'), lease: '7' });
    await m.client.put({ key: b('other'), value: b('o') });
  });
  afterEach(() => m.close());

  const compares: Array<{ c: Compare; want: boolean }> = [
    { c: { key: b('k'), target: 'VALUE', result: 'EQUAL', value: b('v2') }, want: true },
    { c: { key: b('k'), target: 'VALUE', result: 'GREATER', value: b('v1') }, want: true },
    { c: { key: b('k'), target: 'VALUE', result: 'LESS', value: b('v1') }, want: false },
    { c: { key: b('k'), target: 'VERSION', result: 'EQUAL', version: 2 }, want: true },
    { c: { key: b('k'), target: 'VERSION', result: 'NOT_EQUAL', version: 2 }, want: false },
    { c: { key: b('k'), target: 'CREATE', result: 'EQUAL', create_revision: 2 }, want: true },
    { c: { key: b('k'), target: 'CREATE', result: 'LESS', create_revision: 2 }, want: false },
    { c: { key: b('k'), target: 'MOD', result: 'GREATER', mod_revision: 2 }, want: true },
    { c: { key: b('k'), target: 'MOD', result: 'LESS', mod_revision: 4 }, want: true },
    { c: { key: b('k'), target: 'LEASE', result: 'EQUAL', lease: 7 }, want: true },
    { c: { key: b('k'), target: 'LEASE', result: 'GREATER', lease: 8 }, want: false },
    // A missing key has version, create and mod revision 0, and no value at all.
    { c: { key: b('missing'), target: 'VERSION', result: 'EQUAL', version: 0 }, want: true },
    { c: { key: b('missing'), target: 'CREATE', result: 'EQUAL', create_revision: 0 }, want: true },
    { c: { key: b('missing'), target: 'VALUE', result: 'EQUAL', value: b('') }, want: false },
    { c: { key: b('missing'), target: 'VALUE', result: 'NOT_EQUAL', value: b('x') }, want: false },
    // With range_end every key in the range must satisfy the compare.
    { c: { key: b('a'), range_end: b('z'), target: 'VERSION', result: 'GREATER', version: 0 }, want: true },
    { c: { key: b('a'), range_end: b('z'), target: 'MOD', result: 'EQUAL', mod_revision: 3 }, want: false },
  ];
  for (const { c, want } of compares) {
    it(`${c.key} ${c.target} ${c.result} ${JSON.stringify(c.value?.toString() ?? c.version ?? c.create_revision ?? c.mod_revision ?? c.lease)}${c.range_end ? ' over a range' : ''} is ${want}`, async () => {
      const r = await m.client.txn({ compare: [c], success: [get('k')], failure: [get('other')] });
      assert.equal(r.succeeded, want);
      assert.equal(r.responses[0]?.response_range?.kvs[0]?.key.toString(), want ? 'k' : 'other');
    });
  }

  it('takes the failure branch if any compare fails', async () => {
    const r = await m.client.txn({
      compare: [{ key: b('k'), target: 'VERSION', result: 'EQUAL', version: 2 }, { key: b('k'), target: 'VALUE', result: 'EQUAL', value: b('no') }],
      success: [put('s', '1')], failure: [put('f', '1')],
    });
    assert.equal(r.succeeded, false);
    assert.equal((await m.client.range({ key: b('f') })).count, '1');
    assert.equal((await m.client.range({ key: b('s') })).count, '0');
  });

  it('writes every operation at one revision, later ops seeing earlier ones', async () => {
    const r = await m.client.txn({ success: [put('x', '1'), put('y', '2'), get('x', 'z'), del('other')] });
    assert.equal(r.header?.revision, '5');
    const [px, py, rg, dl] = r.responses;
    assert.equal(px?.response_put?.header?.revision, '5');
    assert.equal(py?.response_put?.header?.revision, '5');
    assert.deepEqual(rg?.response_range?.kvs.map((kv) => [kv.key.toString(), kv.mod_revision]), [['x', '5'], ['y', '5']]);
    assert.equal(dl?.response_delete_range?.deleted, '1');
    // Nested headers carry only the revision, as etcd's do.
    assert.deepEqual([rg?.response_range?.header?.cluster_id, rg?.response_range?.header?.raft_term], ['0', '0']);
    const all = await m.client.range({ key: Buffer.from([0]), range_end: Buffer.from([0]) });
    assert.deepEqual(all.kvs.map((kv) => `${kv.key}@${kv.mod_revision}`), ['k@3', 'x@5', 'y@5']);
  });

  it('runs nested txns, whose compares see the state before the outer txn', async () => {
    const r = await m.client.txn({
      success: [
        put('n', 'outer'),
        { request_txn: {
          compare: [{ key: b('n'), target: 'VERSION', result: 'EQUAL', version: 0 }],
          success: [put('inner', 'then')], failure: [put('inner', 'else')],
        } },
      ],
    });
    const nested = r.responses[1]?.response_txn;
    assert.equal(nested?.succeeded, true);
    assert.equal(nested?.responses[0]?.response_put?.header?.revision, '5');
    assert.equal((await m.client.range({ key: b('inner') })).kvs[0]?.value.toString(), 'then');
  });

  it('answers a read-only txn without a new revision', async () => {
    const r = await m.client.txn({ compare: [{ key: b('k'), target: 'VERSION', result: 'GREATER', version: 0 }], success: [get('k')] });
    assert.equal(r.header?.revision, '4');
    assert.equal((await m.client.put({ key: b('after'), value: b('1') })).header?.revision, '5');
  });

  const rejected: Array<{ name: string; success: RequestOp[]; details: string }> = [
    { name: 'two puts of one key', success: [put('d', '1'), put('d', '2')], details: 'etcdserver: duplicate key given in txn request' },
    { name: 'a put inside a deleted range', success: [del('a', 'm'), put('d', '2')], details: 'etcdserver: duplicate key given in txn request' },
    { name: 'a nested put of a key put outside', success: [put('d', '1'), { request_txn: { success: [put('d', '2')] } }], details: 'etcdserver: duplicate key given in txn request' },
    { name: 'an empty operation', success: [{}], details: 'etcdserver: key not found' },
    { name: 'an empty key', success: [put('', 'v')], details: 'etcdserver: key is not provided' },
    { name: 'more than 128 operations', success: Array.from({ length: 129 }, (_, i) => put(`k${i}`, 'v')), details: 'etcdserver: too many operations in txn request' },
    { name: 'a range at a future revision', success: [put('w', '1'), { request_range: { key: b('k'), revision: 99 } }], details: 'etcdserver: mvcc: required revision is a future revision' },
    { name: 'ignore_value on a missing key', success: [put('w', '1'), { request_put: { key: b('missing'), ignore_value: true } }], details: 'etcdserver: key not found' },
  ];
  for (const c of rejected) {
    it(`rejects ${c.name} and writes nothing`, async () => {
      const f = await failure(m.client.txn({ success: c.success }));
      assert.equal(f.details, c.details);
      assert.ok(f.code === status.INVALID_ARGUMENT || f.code === status.OUT_OF_RANGE);
      assert.equal((await m.client.range({ key: b('k') })).header?.revision, '4');
    });
  }

  it('checks every put of the chosen branches before any range, as etcd\'s applier does', async () => {
    const future: RequestOp = { request_range: { key: b('k'), revision: 99 } };
    assert.deepEqual(await failure(m.client.txn({ success: [future, { request_put: { key: b('w'), value: b('1'), lease: '999' } }] })),
      { code: status.NOT_FOUND, details: 'etcdserver: requested lease not found' });
    const borrowing: RequestOp = { request_put: { key: b('missing'), ignore_value: true } };
    assert.deepEqual(await failure(m.client.txn({ success: [future, { request_txn: { success: [borrowing] } }] })),
      { code: status.INVALID_ARGUMENT, details: 'etcdserver: key not found' });
    assert.equal((await m.client.range({ key: b('k') })).header?.revision, '4');
  });

  // etcd's checkIntervals (v3rpc/key.go) builds the delete interval from the raw range_end: "\0" is then
  // the interval [key, "\x00"), which holds no key, so a put beside a delete "from key" is no duplicate.
  it('lets a put share a branch with a delete of every key from one on (range_end "\\0")', async () => {
    const r = await m.client.txn({ success: [{ request_delete_range: { key: b('a'), range_end: Buffer.from([0]) } }, put('z', '1')] });
    assert.equal(r.succeeded, true);
    assert.equal(r.header?.revision, '5');
    assert.equal(r.responses[0]?.response_delete_range?.deleted, '2');
    const all = await m.client.range({ key: Buffer.from([0]), range_end: Buffer.from([0]) });
    assert.deepEqual(all.kvs.map((kv) => kv.key.toString()), ['z']);
  });

  // etcd 3.4.23 lets this one through too, then panics applying it ("unexpected error during txn: etcdserver:
  // key not found"), on every member: Keel refuses it.
  it('refuses a put borrowing from a key that a delete "from key on" in the same txn removes first', async () => {
    const borrowing = { request_put: { key: b('k'), ignore_value: true } };
    assert.deepEqual(await failure(m.client.txn({ success: [{ request_delete_range: { key: b('a'), range_end: Buffer.from([0]) } }, borrowing] })),
      { code: status.INVALID_ARGUMENT, details: 'etcdserver: duplicate key given in txn request' });
    assert.deepEqual(await failure(m.client.txn({ success: [{ request_delete_range: { key: b('a'), range_end: Buffer.from([0]) } }, { request_txn: { success: [borrowing] } }] })),
      { code: status.INVALID_ARGUMENT, details: 'etcdserver: duplicate key given in txn request' });
    assert.equal((await m.client.range({ key: b('k') })).header?.revision, '4');
  });

  // etcd's checkTxnRequest passes maxTxnOps-opc to each nested txn's check (v3rpc/key.go).
  it('refuses a nested txn with more operations than its parent leaves of the 128', async () => {
    const outer = Array.from({ length: 100 }, (_, i) => put(`o${i}`, 'v'));
    const inner = Array.from({ length: 50 }, (_, i) => put(`i${i}`, 'v'));
    assert.deepEqual(await failure(m.client.txn({ success: [...outer, { request_txn: { success: inner } }] })),
      { code: status.INVALID_ARGUMENT, details: 'etcdserver: too many operations in txn request' });
    assert.equal((await m.client.range({ key: b('k') })).header?.revision, '4');
  });

  // etcd's checkRequestRange (apply.go): only revision 0 means "now"; any other below FirstRev() is compacted.
  it('refuses a range at a negative revision once the store has been compacted', async () => {
    await m.client.compact({ revision: 3 });
    assert.deepEqual(await failure(m.client.txn({ success: [{ request_range: { key: b('k'), revision: -1 } }] })),
      { code: status.OUT_OF_RANGE, details: 'etcdserver: mvcc: required revision has been compacted' });
    assert.deepEqual(await failure(m.client.txn({ success: [put('w', '1'), { request_range: { key: b('k'), revision: -1 } }] })),
      { code: status.OUT_OF_RANGE, details: 'etcdserver: mvcc: required revision has been compacted' });
  });

  // etcd's compareKV (apply.go): an unknown target leaves the result 0, an unknown result operator is true.
  it('treats compare enum values it does not know as etcd does', async () => {
    const unknownResult = { key: b('k'), target: 'VERSION', result: 9 as unknown as 'EQUAL', version: 1 } as const;
    const unknownTarget = { key: b('k'), target: 9 as unknown as 'VERSION', result: 'EQUAL', version: 1 } as const;
    assert.equal((await m.client.txn({ compare: [unknownResult], success: [get('k')] })).succeeded, true);
    assert.equal((await m.client.txn({ compare: [unknownTarget], success: [get('k')] })).succeeded, true);
  });

  it('allows the same key in the then- and else-branch of a nested txn, and two deletes of one key', async () => {
    const nested = { request_txn: { success: [put('d', '1')], failure: [put('d', '2')] } };
    assert.equal((await m.client.txn({ success: [nested] })).header?.revision, '5');
    assert.equal((await m.client.txn({ success: [del('k'), del('k'), get('k'), get('k')] })).header?.revision, '6');
  });
});
