import assert from 'node:assert/strict';
import { startInProcessCluster, type InProcessCluster } from '../cmd/in-process-member';
import { ServerError } from './errors';

const b = (s: string) => Buffer.from(s);

describe('auth revision: a write checked before an auth change and applied after it', function () {
  this.timeout(30_000);
  let c: InProcessCluster;
  afterEach(() => c.close());

  it('is refused with "revision of auth store is old", and one checked after the change is applied', async () => {
    c = await startInProcessCluster(1);
    const { server, client } = await c.leader();
    for (const req of [
      { user_add: { name: 'root', password: 'r' } }, { role_add: { name: 'root' } }, { user_grant_role: { user: 'root', role: 'root' } },
      { user_add: { name: 'w', password: 'w' } }, { role_add: { name: 'writer' } },
      { role_grant_permission: { name: 'writer', perm: { permType: 'READWRITE' as const, key: b('k'), range_end: b('l') } } },
      { user_grant_role: { user: 'w', role: 'writer' } }, { enable: {} },
    ]) await server.authRequest(req);

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
