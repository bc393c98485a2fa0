import assert from 'node:assert/strict';
import { EtcdClient } from '../client/etcd-client';
import { startInProcessMember, type InProcessMember } from '../cmd/in-process-member';
import { ROOT_AND_WRITER } from '../server/testing/auth-users';

const b = (s: string) => Buffer.from(s);

describe('auth guard: what a user without read access to keys may learn of them', function () {
  this.timeout(30_000);
  let m: InProcessMember;
  let w: EtcdClient;
  before(async () => {
    m = await startInProcessMember();
    for (const req of [...ROOT_AND_WRITER, { enable: {} }]) await m.server.authRequest(req);
    await m.client.authenticate('root', 'r');
    w = new EtcdClient(m.endpoint);
    await w.authenticate('w', 'w');
  });
  after(async () => {
    w.close();
    await m.close();
  });

  it('gets no key names from a lease holding keys it may not read (CVE-2023-32082), and the TTL without them', async () => {
    const { ID } = await m.client.leaseGrant({ TTL: 600 });
    await m.client.put({ key: b('secret/password'), value: b('x'), lease: ID });
    await assert.rejects(w.leaseTimeToLive({ ID, keys: true }), /permission denied/);
    assert.equal((await w.leaseTimeToLive({ ID })).grantedTTL, '600');
  });

  it('is refused an inverted range as etcd refuses it, though its grant spans the keys', async () => {
    await assert.rejects(w.range({ key: b('kz'), range_end: b('ka') }), /permission denied/);
    assert.equal((await w.range({ key: b('ka'), range_end: b('kz') })).count, '0');
  });
});
