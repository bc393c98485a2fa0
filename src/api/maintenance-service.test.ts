import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { failure, InProcessCluster, InProcessMember, startInProcessCluster, startInProcessMember } from '../cmd/in-process-member';
import { readSnapshotFile, sha256 } from '../server/snapshot-file';
import { parseDump } from '../server/state-snapshot';
import { eventually } from '../util/eventually';
import { TestMaintenanceClient } from './testing/maintenance-client';

const put = (m: InProcessMember, key: string, value: string | Buffer) => m.client.put({ key: Buffer.from(key), value: Buffer.from(value) });

describe('Maintenance service', function () {
  this.timeout(60_000);

  describe('on one member', () => {
    let m: InProcessMember;
    let mc: TestMaintenanceClient;
    beforeEach(async () => {
      m = await startInProcessMember();
      mc = new TestMaintenanceClient(m.endpoint);
      await eventually('a leader', () => m.server.leader !== 0n);
    });
    afterEach(async () => {
      mc.close();
      await m.close();
    });

    it('HashKV hashes the kept history exactly as etcd 3.4 does', async () => {
      // Values measured on etcd 3.4.23 given the same writes: an empty store, then put a=1.
      const empty = await mc.hashKv(0);
      assert.equal(empty.hash, 1084519789);
      assert.equal(empty.compact_revision, '-1');
      assert.equal(empty.header?.revision, '1');
      await put(m, 'a', '1');
      const afterPut = await mc.hashKv(0);
      assert.equal(afterPut.hash, 2587454935);
      assert.equal(afterPut.hash_revision, '2');
      assert.equal((await mc.hashKv(1)).hash, 1084519789, 'a past revision hashes the history up to it');
      assert.deepEqual(await failure(mc.hashKv(3)), { code: status.OUT_OF_RANGE, details: 'etcdserver: mvcc: required revision is a future revision' });
      await put(m, 'a', '2');
      await put(m, 'b', '1');
      const before = (await mc.hashKv(4)).hash;
      await m.client.compact({ revision: 3, physical: true });
      const after = await mc.hashKv(4);
      // As in etcd: below the compaction only what a read at 4 sees counts, so a@2 no longer does.
      assert.notEqual(after.hash, before);
      assert.equal((await mc.hashKv(0)).hash, after.hash);
      assert.equal(after.compact_revision, '3');
      // etcd 3.4.27+/3.5.10+ hash the compacted revision itself; only revisions below it are compacted.
      assert.deepEqual(await failure(mc.hashKv(2)), { code: status.OUT_OF_RANGE, details: 'etcdserver: mvcc: required revision has been compacted' });
    });

    it('Alarm raises, lists and clears alarms through the log; Status shows them as etcd prints them', async () => {
      const id = m.server.memberId.toString();
      assert.deepEqual((await mc.alarm({ action: 'GET', alarm: 'NONE' })).alarms, []);
      const raised = await mc.alarm({ action: 'ACTIVATE', memberID: id, alarm: 'NOSPACE' });
      assert.deepEqual(raised.alarms, [{ memberID: id, alarm: 'NOSPACE' }]);
      assert.equal(raised.header, null, 'etcd answers alarms without a header');
      await mc.alarm({ action: 'ACTIVATE', memberID: '7', alarm: 'CORRUPT' });
      assert.deepEqual((await mc.alarm({ action: 'GET', alarm: 'NOSPACE' })).alarms, [{ memberID: id, alarm: 'NOSPACE' }]);
      assert.deepEqual((await mc.status()).errors, [`memberID:${id} alarm:NOSPACE `, 'memberID:7 alarm:CORRUPT ']);
      assert.deepEqual((await mc.alarm({ action: 'DEACTIVATE', memberID: '7', alarm: 'CORRUPT' })).alarms, [{ memberID: '7', alarm: 'CORRUPT' }]);
      assert.deepEqual((await mc.alarm({ action: 'DEACTIVATE', memberID: '7', alarm: 'CORRUPT' })).alarms, [], 'nothing left to clear');
      assert.deepEqual((await mc.alarm({ action: 'GET', alarm: 'NONE' })).alarms, [{ memberID: id, alarm: 'NOSPACE' }]);
    });

    // etcd server/etcdserver/apply.go applierV3backend.Alarm: ACTIVATE CORRUPT switches to
    // newApplierV3Corrupt, whose Put/Txn/DeleteRange/LeaseGrant/... return ErrCorrupt
    // (rpctypes.ErrGRPCCorrupt: DataLoss, 'etcdserver: corrupt cluster'); DEACTIVATE restores the applier.
    it('a raised CORRUPT alarm stops writes until it is cleared, as etcd\'s corrupt applier does', async () => {
      const id = m.server.memberId.toString();
      await mc.alarm({ action: 'ACTIVATE', memberID: id, alarm: 'CORRUPT' });
      assert.deepEqual(await failure(put(m, 'k', 'v')), { code: status.DATA_LOSS, details: 'etcdserver: corrupt cluster' });
      await mc.alarm({ action: 'DEACTIVATE', memberID: id, alarm: 'CORRUPT' });
      await put(m, 'k', 'v');
    });

    // etcd v3rpc/maintenance.go MoveLeader: `return &pb.MoveLeaderResponse{}, nil` (3.4 and 3.5): no header.
    it('MoveLeader answers without a header, as etcd does', async () => {
      const res = (await mc.moveLeader(m.server.memberId)) as { header: unknown };
      assert.equal(res.header, null);
    });

    // etcd 3.5.10+ / 3.4.27+ mvcc/kvstore.go hashByRev: `if rev > 0 && rev < compactRev { ErrCompacted }`
    // (commit 8cffdbafb): the compacted revision itself can be hashed. Keel reports version 3.5.17.
    it('HashKV hashes the compacted revision itself, as etcd 3.5.17 does', async () => {
      await put(m, 'a', '1');
      await put(m, 'a', '2');
      await put(m, 'b', '1');
      await m.client.compact({ revision: 3, physical: true });
      const at = await mc.hashKv(3);
      assert.equal(at.compact_revision, '3');
      assert.deepEqual(await failure(mc.hashKv(2)), { code: status.OUT_OF_RANGE, details: 'etcdserver: mvcc: required revision has been compacted' });
    });

    it('Snapshot streams the state in chunks counting down, then the sha256 of the contents', async () => {
      await put(m, 'big', Buffer.alloc(100_000, 7));
      await put(m, 'small', 'v');
      const messages = await mc.snapshot();
      assert.ok(messages.length >= 5, `a 100 kB state in 32 KiB chunks plus the hash, got ${messages.length} messages`);
      const data = messages.slice(0, -1).map((r) => r.blob);
      const contents = Buffer.concat(data);
      let remaining = contents.length;
      for (const r of messages.slice(0, -1)) {
        remaining -= r.blob.length;
        assert.equal(Number(r.remaining_bytes), remaining);
      }
      assert.deepEqual(messages.at(-1)!.blob, sha256(contents));
      const saved = Buffer.concat([contents, messages.at(-1)!.blob]);
      const keys = parseDump(readSnapshotFile(saved, false)).records.map(([k]) => k.readUInt8(0));
      assert.equal(keys.filter((p) => p === 0x72).length, 2, 'both revision records are in it');
      const corrupt = Buffer.from(saved);
      corrupt.writeUInt8(corrupt.readUInt8(40) ^ 1, 40);
      assert.throws(() => readSnapshotFile(saved.subarray(0, -1), false), /missing hash/);
      assert.throws(() => readSnapshotFile(corrupt, false), /expected sha256/);
    });

    it('Defragment gives back the space of deleted history while the member keeps serving', async () => {
      const value = Buffer.alloc(2000, 1);
      for (let i = 0; i < 600; i++) await put(m, `k${i}`, value);
      await m.client.deleteRange({ key: Buffer.from('k'), range_end: Buffer.from('l') });
      const rev = Number((await m.client.status()).header!.revision);
      await m.client.compact({ revision: rev, physical: true });
      const before = Number((await mc.status()).dbSize);
      const defrag = mc.defragment();
      // Writes and reads go on while it runs.
      await put(m, 'during', 'x');
      assert.equal((await m.client.range({ key: Buffer.from('during') })).kvs.length, 1);
      await defrag;
      const after = Number((await mc.status()).dbSize);
      assert.ok(after < before / 2, `db size ${before} → ${after}`);
      const s = await mc.status();
      assert.ok(Number(s.dbSizeInUse) <= Number(s.dbSize));
    });
  });

  describe('on three members', () => {
    let c: InProcessCluster;
    afterEach(() => c.close());

    it('HashKV at one revision is the same on every member and changes with the data', async () => {
      c = await startInProcessCluster(3);
      const leader = await c.leader();
      for (let i = 0; i < 20; i++) await put(leader, `key${i % 7}`, `value${i}`);
      await leader.client.deleteRange({ key: Buffer.from('key3') });
      const rev = Number((await leader.client.status()).header!.revision);
      const clients = c.members.map((m) => new TestMaintenanceClient(m.endpoint));
      try {
        // A follower may not have applied the last revision yet.
        const hashes = async (r: number) => Promise.all(clients.map(async (mc) => {
          let h: number | undefined;
          await eventually(`member hashes revision ${r}`, async () => {
            h = (await mc.hashKv(r)).hash;
            return true;
          });
          return h!;
        }));
        const at = await hashes(rev);
        assert.equal(new Set(at).size, 1, `hashes ${at.join(', ')}`);
        await put(leader, 'key1', 'changed');
        const next = await hashes(rev + 1);
        assert.equal(new Set(next).size, 1, `hashes ${next.join(', ')}`);
        assert.notEqual(next[0], at[0]);
        assert.deepEqual(await hashes(rev), at, 'the old revision still hashes the same');
      } finally {
        for (const mc of clients) mc.close();
      }
    });

    it('MoveLeader: only the leader moves it, only to a voting member, and answers once the target leads', async () => {
      c = await startInProcessCluster(3);
      const leader = await c.leader();
      const follower = c.members.find((m) => m !== leader)!;
      const clients = new Map(c.members.map((m) => [m, new TestMaintenanceClient(m.endpoint)]));
      try {
        assert.deepEqual(await failure(clients.get(follower)!.moveLeader(leader.server.memberId)),
          { code: status.FAILED_PRECONDITION, details: 'etcdserver: not leader' });
        assert.deepEqual(await failure(clients.get(leader)!.moveLeader(1234n)),
          { code: status.FAILED_PRECONDITION, details: 'etcdserver: bad leader transferee' });
        await clients.get(leader)!.moveLeader(follower.server.memberId);
        assert.equal(leader.server.leader, follower.server.memberId, 'the old leader knows the new one when it answers');
        assert.equal((await c.leader()), follower);
      } finally {
        for (const mc of clients.values()) mc.close();
      }
    });
  });
});
