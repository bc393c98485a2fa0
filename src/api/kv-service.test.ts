import { status } from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import type { RangeRequest } from '../generated/etcdserverpb/RangeRequest';
import type { RangeResponse__Output } from '../generated/etcdserverpb/RangeResponse';
import { failure, InProcessMember, startInProcessMember } from '../cmd/in-process-member';

const b = (s: string) => Buffer.from(s);
const keysOf = (r: RangeResponse__Output) => r.kvs.map((kv) => kv.key.toString());

describe('KV service over gRPC', () => {
  let m: InProcessMember;
  beforeEach(async () => {
    m = await startInProcessMember();
  });
  afterEach(() => m.close());

  it('fills every response header', async () => {
    const put = await m.client.put({ key: b('k'), value: b('v') });
    assert.equal(put.header?.revision, '2');
    assert.equal(put.header?.cluster_id, m.server.clusterId.toString());
    assert.equal(put.header?.member_id, m.server.memberId.toString());
    assert.equal(put.header?.raft_term, '2');
    const range = await m.client.range({ key: b('missing') });
    assert.equal(range.header?.revision, '2');
    assert.equal(range.header?.cluster_id, m.server.clusterId.toString());
  });

  describe('Range options', () => {
    // Revisions (the store starts at 1): a=2 b=3 c=4 d=5, then b again at 6 (version 2), e with value "0" at 7.
    beforeEach(async () => {
      for (const [k, v] of [['a', 'z'], ['b', 'y'], ['c', 'x'], ['d', 'w'], ['b', 'v'], ['e', '0']]) {
        await m.client.put({ key: b(k!), value: b(v!) });
      }
    });

    const cases: Array<{ name: string; req: RangeRequest; keys: string[]; count?: number; more?: boolean }> = [
      { name: 'single key', req: { key: b('b') }, keys: ['b'] },
      { name: 'range [b, d)', req: { key: b('b'), range_end: b('d') }, keys: ['b', 'c'] },
      { name: 'from key', req: { key: b('c'), range_end: Buffer.from([0]) }, keys: ['c', 'd', 'e'] },
      { name: 'all keys', req: { key: Buffer.from([0]), range_end: Buffer.from([0]) }, keys: ['a', 'b', 'c', 'd', 'e'] },
      { name: 'limit with more and full count', req: { key: b('a'), range_end: b('z'), limit: 2 }, keys: ['a', 'b'], count: 5, more: true },
      { name: 'limit equal to matches', req: { key: b('a'), range_end: b('z'), limit: 5 }, keys: ['a', 'b', 'c', 'd', 'e'], more: false },
      { name: 'at revision 4', req: { key: b('a'), range_end: b('z'), revision: 4 }, keys: ['a', 'b', 'c'] },
      { name: 'sort by value ascending', req: { key: b('a'), range_end: b('z'), sort_order: 'ASCEND', sort_target: 'VALUE' }, keys: ['e', 'b', 'd', 'c', 'a'] },
      { name: 'sort by key descending', req: { key: b('a'), range_end: b('z'), sort_order: 'DESCEND', sort_target: 'KEY' }, keys: ['e', 'd', 'c', 'b', 'a'] },
      { name: 'sort target without order sorts ascending', req: { key: b('a'), range_end: b('z'), sort_target: 'MOD' }, keys: ['a', 'c', 'd', 'b', 'e'] },
      { name: 'sort by create descending', req: { key: b('a'), range_end: b('z'), sort_order: 'DESCEND', sort_target: 'CREATE' }, keys: ['e', 'd', 'c', 'b', 'a'] },
      { name: 'sort by version descending, then limit', req: { key: b('a'), range_end: b('z'), sort_order: 'DESCEND', sort_target: 'VERSION', limit: 1 }, keys: ['b'], more: true },
      { name: 'min mod revision', req: { key: b('a'), range_end: b('z'), min_mod_revision: 5 }, keys: ['b', 'd', 'e'] },
      { name: 'max mod revision', req: { key: b('a'), range_end: b('z'), max_mod_revision: 4 }, keys: ['a', 'c'] },
      { name: 'min create revision', req: { key: b('a'), range_end: b('z'), min_create_revision: 4 }, keys: ['c', 'd', 'e'] },
      { name: 'max create revision', req: { key: b('a'), range_end: b('z'), max_create_revision: 3 }, keys: ['a', 'b'] },
      { name: 'serializable', req: { key: b('a'), range_end: b('c'), serializable: true }, keys: ['a', 'b'] },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const r = await m.client.range(c.req);
        assert.deepEqual(keysOf(r), c.keys);
        if (c.count !== undefined) assert.equal(r.count, String(c.count));
        if (c.more !== undefined) assert.equal(r.more, c.more);
        assert.equal(r.header?.revision, '7');
      });
    }

    it('keys_only drops values, count_only returns only the count', async () => {
      const keysOnly = await m.client.range({ key: b('a'), range_end: b('c'), keys_only: true });
      assert.deepEqual(keysOnly.kvs.map((kv) => [kv.key.toString(), kv.value.length, kv.mod_revision]), [['a', 0, '2'], ['b', 0, '6']]);
      const countOnly = await m.client.range({ key: b('a'), range_end: b('z'), count_only: true });
      assert.deepEqual([countOnly.kvs.length, countOnly.count], [0, '5']);
    });

    it('reports create, mod revision and version per key', async () => {
      const [kv] = (await m.client.range({ key: b('b') })).kvs;
      assert.deepEqual([kv?.create_revision, kv?.mod_revision, kv?.version, kv?.value.toString()], ['3', '6', '2', 'v']);
    });

    it('rejects a future revision and an unknown sort option', async () => {
      assert.deepEqual(await failure(m.client.range({ key: b('a'), revision: 8 })),
        { code: status.OUT_OF_RANGE, details: 'etcdserver: mvcc: required revision is a future revision' });
      assert.deepEqual(await failure(m.client.range({ key: b('a'), sort_target: 9 as never })),
        { code: status.INVALID_ARGUMENT, details: 'etcdserver: invalid sort option' });
    });
  });

  describe('Put', () => {
    it('returns the previous value with prev_kv', async () => {
      await m.client.put({ key: b('k'), value: b('1'), lease: '0' });
      const r = await m.client.put({ key: b('k'), value: b('2'), prev_kv: true });
      assert.equal(r.prev_kv?.value.toString(), '1');
      assert.equal((await m.client.put({ key: b('new'), value: b('x'), prev_kv: true })).prev_kv, null);
    });

    it('keeps value or lease with ignore_value / ignore_lease', async () => {
      for (const id of ['42', '43']) await m.client.leaseGrant({ ID: id, TTL: 100 });
      await m.client.put({ key: b('k'), value: b('keep'), lease: '42' });
      await m.client.put({ key: b('k'), ignore_value: true, lease: '43' });
      let [kv] = (await m.client.range({ key: b('k') })).kvs;
      assert.deepEqual([kv?.value.toString(), kv?.lease, kv?.version], ['keep', '43', '2']);
      await m.client.put({ key: b('k'), value: b('changed'), ignore_lease: true });
      [kv] = (await m.client.range({ key: b('k') })).kvs;
      assert.deepEqual([kv?.value.toString(), kv?.lease], ['changed', '43']);
    });

    it('refuses a lease that does not exist, with etcd\'s NotFound', async () => {
      assert.deepEqual(await failure(m.client.put({ key: b('k'), value: b('v'), lease: '99' })),
        { code: status.NOT_FOUND, details: 'etcdserver: requested lease not found' });
    });

    // etcd's applierV3backend.Put (apply.go) looks the lease up before it reads the key for ignore_value.
    it('refuses a missing lease before a missing key for ignore_value, as etcd\'s Put checks them', async () => {
      assert.deepEqual(await failure(m.client.put({ key: b('nope'), ignore_value: true, lease: '99' })),
        { code: status.NOT_FOUND, details: 'etcdserver: requested lease not found' });
    });

    const errors: Array<{ name: string; req: Parameters<InProcessMember['client']['put']>[0]; details: string }> = [
      { name: 'empty key', req: { key: b(''), value: b('v') }, details: 'etcdserver: key is not provided' },
      { name: 'ignore_value with a value', req: { key: b('k'), value: b('v'), ignore_value: true }, details: 'etcdserver: value is provided' },
      { name: 'ignore_lease with a lease', req: { key: b('k'), lease: '5', ignore_lease: true }, details: 'etcdserver: lease is provided' },
      { name: 'ignore_value on a missing key', req: { key: b('nope'), ignore_value: true }, details: 'etcdserver: key not found' },
      { name: 'ignore_lease on a missing key', req: { key: b('nope'), ignore_lease: true }, details: 'etcdserver: key not found' },
    ];
    for (const e of errors) {
      it(`rejects ${e.name} and changes nothing`, async () => {
        assert.deepEqual(await failure(m.client.put(e.req)), { code: status.INVALID_ARGUMENT, details: e.details });
        assert.equal((await m.client.range({ key: b('x') })).header?.revision, '1');
      });
    }

    it('rejects a request over --max-request-bytes but takes one just under it', async () => {
      const limit = 1.5 * 1024 * 1024;
      assert.deepEqual(await failure(m.client.put({ key: b('big'), value: Buffer.alloc(limit) })),
        { code: status.INVALID_ARGUMENT, details: 'etcdserver: request is too large' });
      await m.client.put({ key: b('big'), value: Buffer.alloc(limit - 1024) });
      const over = await failure(m.client.put({ key: b('huge'), value: Buffer.alloc(3 * 1024 * 1024) }));
      assert.equal(over.code, status.RESOURCE_EXHAUSTED, 'gRPC refuses messages beyond the limit plus framing');
      assert.equal((await m.client.range({ key: b('big') })).kvs[0]?.value.length, limit - 1024);
    });
  });

  describe('DeleteRange', () => {
    it('deletes a range in one revision and returns what it deleted', async () => {
      for (const k of ['a', 'b', 'c']) await m.client.put({ key: b(k), value: b(k) });
      const r = await m.client.deleteRange({ key: b('a'), range_end: b('c'), prev_kv: true });
      assert.equal(r.deleted, '2');
      assert.deepEqual(r.prev_kvs.map((kv) => kv.value.toString()), ['a', 'b']);
      assert.equal(r.header?.revision, '5');
      assert.deepEqual(keysOf(await m.client.range({ key: Buffer.from([0]), range_end: Buffer.from([0]) })), ['c']);
      const none = await m.client.deleteRange({ key: b('zzz') });
      assert.deepEqual([none.deleted, none.header?.revision], ['0', '5']);
    });

    it('rejects an empty key', async () => {
      assert.equal((await failure(m.client.deleteRange({ key: b('') }))).details, 'etcdserver: key is not provided');
    });
  });

  describe('Compact', () => {
    it('makes older revisions unreadable and refuses to compact twice', async () => {
      for (const v of ['1', '2', '3']) await m.client.put({ key: b('k'), value: b(v) });
      const r = await m.client.compact({ revision: 3, physical: true });
      assert.equal(r.header?.revision, '4');
      const compacted = { code: status.OUT_OF_RANGE, details: 'etcdserver: mvcc: required revision has been compacted' };
      assert.deepEqual(await failure(m.client.range({ key: b('k'), revision: 2 })), compacted);
      assert.equal((await m.client.range({ key: b('k'), revision: 3 })).kvs[0]?.value.toString(), '2');
      assert.deepEqual(await failure(m.client.compact({ revision: 3 })), compacted);
      assert.deepEqual(await failure(m.client.compact({ revision: 9 })),
        { code: status.OUT_OF_RANGE, details: 'etcdserver: mvcc: required revision is a future revision' });
    });

    // etcd's store starts with compactMainRev -1 (mvcc/kvstore.go NewStore) and updateCompactRev refuses
    // only rev <= compactMainRev: the first compaction at revision 0 succeeds.
    it('compacts at revision 0 once on a store never compacted', async () => {
      await m.client.put({ key: b('k'), value: b('1') });
      assert.equal((await m.client.compact({ revision: 0 })).header?.revision, '2');
      assert.deepEqual(await failure(m.client.compact({ revision: 0 })),
        { code: status.OUT_OF_RANGE, details: 'etcdserver: mvcc: required revision has been compacted' });
      assert.equal((await m.client.compact({ revision: 1 })).header?.revision, '2');
    });
  });
});
