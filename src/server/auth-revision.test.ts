import assert from 'node:assert/strict';
import { startInProcessCluster, type InProcessCluster } from '../cmd/in-process-member';
import { ServerError } from './errors';
import { ROOT_AND_WRITER } from './testing/auth-users';

const b = (s: string) => Buffer.from(s);

describe('auth revision: a write checked before an auth change and applied after it', function () {
  this.timeout(30_000);
  let c: InProcessCluster;
  afterEach(() => c.close());

  it('is refused when auth was off at the check and on at the apply', async () => {
    c = await startInProcessCluster(1);
    const { server, client } = await c.leader();
    for (const req of ROOT_AND_WRITER) await server.authRequest(req);
    const enable = server.authRequest({ enable: {} });
    const put = server.put({ key: b('k1'), value: b('unchecked') } as never);
    await enable;
    await assert.rejects(put, (err: ServerError) => err.reason === 'auth-old-revision');
    await client.authenticate('root', 'r');
    assert.equal((await client.range({ key: b('k1') })).kvs.length, 0);
  });

  it('refuses a login whose password was checked before auth changed, and checks it again', async () => {
    c = await startInProcessCluster(1);
    const { server } = await c.leader();
    for (const req of [...ROOT_AND_WRITER, { enable: {} }]) await server.authRequest(req);
    const checkedAt = Number((await server.authRequest({ status: {} }) as { authRevision: string }).authRevision);
    await server.authRequest({ user_change_password: { name: 'w', password: 'new' } });
    await assert.rejects(server.authRequest({ authenticate: { name: 'w', simple_token: 'stale', auth_revision: checkedAt } }),
      (err: ServerError) => err.reason === 'auth-old-revision');
    // A login racing an unrelated change is checked again and gets a token that works.
    const [{ token }] = await Promise.all([server.authenticate('w', 'new'), server.authRequest({ role_add: { name: 'other' } })]);
    assert.ok(token);
    await assert.rejects(server.authenticate('w', 'w'), (err: ServerError) => err.reason === 'auth-failed');
  });

  it('is refused with "revision of auth store is old", and one checked after the change is applied', async () => {
    c = await startInProcessCluster(1);
    const { server, client } = await c.leader();
    for (const req of [...ROOT_AND_WRITER, { enable: {} }]) await server.authRequest(req);

    // The revoke is proposed first; the put is checked (stamped) before the revoke is applied, so
    // the log holds revoke, then put, and the put's check no longer holds when it is applied.
    const revoke = server.authRequest({ role_revoke_permission: { role: 'writer', key: b('k'), range_end: b('l') } });
    const put = server.put({ key: b('k1'), value: b('v') } as never);
    await revoke;
    await assert.rejects(put, (err: ServerError) => err.reason === 'auth-old-revision');
    await client.authenticate('root', 'r');
    assert.equal((await client.range({ key: b('k1') })).kvs.length, 0);

    await server.put({ key: b('k2'), value: b('v') } as never); // checked at the current revision
    assert.equal((await client.range({ key: b('k2') })).kvs.length, 1);
  });
});

describe('auth on a follower behind the leader', function () {
  this.timeout(30_000);
  let c: InProcessCluster;
  afterEach(() => c.close());

  // The follower checked the caller before it had applied the revoke; its linearizable read then
  // waited for the revoke, and answered with the key the caller could no longer read.
  it('refuses a linearizable read of a permission the leader had already revoked', async () => {
    c = await startInProcessCluster(3);
    const leader = await c.leader();
    for (const req of [...ROOT_AND_WRITER, { enable: {} }]) await leader.server.authRequest(req);
    await leader.client.authenticate('root', 'r');
    await leader.client.put({ key: b('k1'), value: b('secret') });
    const follower = c.members.find((m) => m !== leader)!;
    await follower.client.authenticate('w', 'w');
    assert.equal((await follower.client.range({ key: b('k1') })).kvs.length, 1);

    // The follower hears nothing from the leader: the revoke commits without it.
    c.network.cutLink(leader.server.memberId, follower.server.memberId);
    await leader.server.authRequest({ role_revoke_permission: { role: 'writer', key: b('k'), range_end: b('l') } });
    const askedLeader = c.network.delivered('MsgReadIndex', leader.server.memberId);
    const read = follower.client.range({ key: b('k1') });
    await askedLeader;
    c.network.heal();
    await assert.rejects(read, /permission denied/);
  });
});
