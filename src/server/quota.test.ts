import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { failure, InProcessMember, startInProcessMember } from '../cmd/in-process-member';
import { TestMaintenanceClient } from '../api/testing/maintenance-client';
import { eventually } from '../util/eventually';
import { ServerError } from './errors';

const NO_SPACE = { code: status.RESOURCE_EXHAUSTED, details: 'etcdserver: mvcc: database space exceeded' };

describe('backend quota (--quota-backend-bytes)', function () {
  this.timeout(60_000);
  let m: InProcessMember;
  let mc: TestMaintenanceClient | undefined;
  afterEach(async () => {
    mc?.close();
    mc = undefined;
    await m.close();
  });

  it('refuses space-taking writes with NOSPACE once full, serves reads and deletes, and recovers by compact + defrag + disarm', async () => {
    m = await startInProcessMember({ quotaBackendBytes: 400 * 1024 });
    mc = new TestMaintenanceClient(m.endpoint);
    await eventually('a leader', () => m.server.leader !== 0n);
    const value = Buffer.alloc(8 * 1024, 1);
    let written = 0;
    for (;; written++) {
      assert.ok(written < 200, 'the quota never filled');
      try {
        await m.client.put({ key: Buffer.from(`k${written}`), value });
      } catch (err) {
        assert.deepEqual({ code: (err as { code: number }).code, details: (err as { details: string }).details }, NO_SPACE);
        break;
      }
    }
    const id = m.server.memberId.toString();
    assert.deepEqual((await mc.alarm({ action: 'GET', alarm: 'NONE' })).alarms, [{ memberID: id, alarm: 'NOSPACE' }]);
    assert.deepEqual((await mc.status()).errors, [`memberID:${id} alarm:NOSPACE `]);
    // Everything that takes space is refused; reads, read-only txns and deletes are not.
    assert.deepEqual(await failure(m.client.put({ key: Buffer.from('tiny'), value: Buffer.from('x') })), NO_SPACE);
    assert.deepEqual(await failure(m.client.txn({ success: [{ request_put: { key: Buffer.from('t'), value: Buffer.from('x') } }] })), NO_SPACE);
    assert.equal((await m.client.range({ key: Buffer.from('k0') })).kvs.length, 1);
    assert.equal((await m.client.txn({ success: [{ request_range: { key: Buffer.from('k0') } }] })).succeeded, true);
    const del = await m.client.deleteRange({ key: Buffer.from('k'), range_end: Buffer.from('l') });
    assert.equal(Number(del.deleted), written);
    // Recovery, as etcd's operators do it.
    await m.client.compact({ revision: Number(del.header!.revision), physical: true });
    await mc.defragment();
    assert.deepEqual(await failure(m.client.put({ key: Buffer.from('tiny'), value: Buffer.from('x') })), NO_SPACE,
      'the alarm still holds until disarmed');
    assert.deepEqual((await mc.alarm({ action: 'DEACTIVATE', memberID: id, alarm: 'NOSPACE' })).alarms, [{ memberID: id, alarm: 'NOSPACE' }]);
    await m.client.put({ key: Buffer.from('tiny'), value: Buffer.from('x') });
    assert.deepEqual((await mc.status()).errors, []);
  });

  // A restart keeping the alarm is covered with real processes in cluster-test/etcdctl-maintenance.
  it('refuses writes while NOSPACE is raised whatever the size, and ships the alarm in the state', async () => {
    m = await startInProcessMember();
    mc = new TestMaintenanceClient(m.endpoint);
    await eventually('a leader', () => m.server.leader !== 0n);
    const id = m.server.memberId.toString();
    await mc.alarm({ action: 'ACTIVATE', memberID: id, alarm: 'NOSPACE' });
    const snapshot = await m.server.snapshot();
    assert.ok(snapshot.includes(Buffer.from(`"memberID":"${id}","alarm":"NOSPACE"`)), 'the alarm is in the persisted state');
    assert.deepEqual(await failure(m.client.put({ key: Buffer.from('a'), value: Buffer.from('1') })), NO_SPACE,
      'a member with NOSPACE raised refuses writes whatever its own size');
  });

  // The write registered its waiter after the stop had failed every waiter and stopped the loop and
  // the ticker that time waiters out: it never settled (a removed member stops with its client port open).
  it('fails a write whose first size read is still under way when the member stops', async () => {
    m = await startInProcessMember();
    await eventually('a leader', () => m.server.leader !== 0n);
    const { engine } = m;
    const sizeOnDisk = engine.sizeOnDisk.bind(engine);
    let reading = false;
    let sizeRead!: () => void;
    const held = new Promise<void>((resolve) => { sizeRead = resolve; });
    engine.sizeOnDisk = async () => {
      reading = true;
      await held;
      return sizeOnDisk();
    };
    const put = m.server.put({ key: Buffer.from('k'), value: Buffer.from('v') } as Parameters<typeof m.server.put>[0]);
    await eventually('the write waits for the size', () => reading);
    await m.server.stop();
    sizeRead();
    await assert.rejects(put, (err) => err instanceof ServerError && err.reason === 'stopped');
  });
});
