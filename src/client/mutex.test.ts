import assert from 'node:assert/strict';
import { startInProcessMember, type InProcessMember } from '../cmd/in-process-member';
import { Mutex } from './mutex';
import { Session } from './session';

describe('Mutex', function () {
  this.timeout(20_000);
  let m: InProcessMember;
  before(async () => { m = await startInProcessMember(); });
  after(() => m.close());

  // etcdctl lock hands this revision to its command as ETCD_LOCK_REV, a fencing token: one from
  // when the waiter queued would be older than the holder's own writes.
  it('takes, after a wait, the revision at which the lock became its own', async () => {
    const [s1, s2] = [await Session.create(m.client, 10), await Session.create(m.client, 10)];
    const holder = new Mutex(m.client, s1, 'fence');
    await holder.lock();
    const waiter = new Mutex(m.client, s2, 'fence');
    const waited = waiter.lock();
    await m.client.put({ key: Buffer.from('unrelated'), value: Buffer.from('1') });
    await m.client.put({ key: Buffer.from('unrelated'), value: Buffer.from('2') });
    await holder.unlock();
    const released = (await m.client.range({ key: Buffer.from('unrelated') })).header!.revision;
    await waited;
    assert.ok(BigInt(waiter.revision) >= BigInt(released), `lock revision ${waiter.revision}, released at ${released}`);
    await waiter.unlock();
    await Promise.all([s1.close(), s2.close()]);
  });
});
