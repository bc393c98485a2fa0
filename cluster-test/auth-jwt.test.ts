import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceError } from '@grpc/grpc-js';
import { EtcdClient } from '../src/client/etcd-client';
import type { WatchResponse__Output } from '../src/generated/etcdserverpb/WatchResponse';
import { eventually } from '../src/util/eventually';
import { etcdctl } from './support/etcdctl';
import { startCluster, type ClusterProcesses, type MemberKind } from './support/member-process';

const b = (s: string) => Buffer.from(s);
const detailsOf = (err: unknown) => (err as ServiceError).details;
const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());

/**
 * `--auth-token jwt,…` on keel and on a real etcd, side by side: signed tokens any member verifies,
 * retired by the next auth change and by their ttl, refused when forged.
 */
for (const kind of ['keel', 'etcd'] as MemberKind[]) {
  describe(`JWT auth tokens (--auth-token jwt) on ${kind}`, function () {
    this.timeout(60_000);
    let dir: string;
    let cluster: ClusterProcesses;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), `keel-jwt-${kind}-`));
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      await writeFile(join(dir, 'jwt.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
      await writeFile(join(dir, 'jwt.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
      const spec = `jwt,pub-key=${join(dir, 'jwt.pub')},priv-key=${join(dir, 'jwt.key')},sign-method=RS256,ttl=3s`;
      cluster = await startCluster(kind, dir, 3, ['--auth-token', spec]);
      const [first] = cluster.endpoints as [string];
      for (const args of [['user', 'add', 'root:rootpw'], ['auth', 'enable']]) {
        const r = await etcdctl(first, args);
        assert.equal(r.code, 0, r.stderr);
      }
    });
    after(async () => {
      await cluster?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('issues an RS256 token naming the user and the auth revision, which every member accepts', async () => {
      const [e1, e2, e3] = cluster.endpoints as [string, string, string];
      const issuer = new EtcdClient(e1);
      const others = [new EtcdClient(e2), new EtcdClient(e3)];
      try {
        const token = await issuer.authenticate('root', 'rootpw');
        assert.equal(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).alg, 'RS256');
        const c = claims(token);
        assert.equal(c.username, 'root');
        assert.equal(typeof c.revision, 'number');
        for (const [i, o] of others.entries()) {
          o.useToken(token);
          await o.put({ key: b(`k${i}`), value: b('v') });
        }
        assert.equal((await etcdctl(e3, ['--user', 'root:rootpw', 'get', 'k1', '--print-value-only'])).stdout, 'v\n');
      } finally {
        for (const c of [issuer, ...others]) c.close();
      }
    });

    it('takes a token from before an auth change for admin calls (etcd\'s IsAdminPermitted), not for keys or watches', async () => {
      const [e1] = cluster.endpoints as [string];
      const c = new EtcdClient(e1);
      try {
        await c.authenticate('root', 'rootpw');
        assert.equal((await etcdctl(e1, ['--user', 'root:rootpw', 'user', 'add', 'third:thirdpw'])).code, 0);
        assert.ok((await c.authCall('UserList', {})).users.includes('third'));
        await c.authCall('UserDelete', { name: 'third' });
        await c.defragment();
        await assert.rejects(c.range({ key: b('x') }), (err) => detailsOf(err) === 'etcdserver: revision of auth store is old');
        const stream = c.watchStream();
        const reply = new Promise<WatchResponse__Output>((resolve) => stream.once('data', resolve));
        stream.on('error', () => {});
        stream.write({ create_request: { key: b('x') } });
        const r = await reply;
        stream.cancel();
        assert.deepEqual([r.watch_id, r.created, r.canceled, r.cancel_reason],
          ['-1', true, true, 'rpc error: code = InvalidArgument desc = etcdserver: revision of auth store is old']);
      } finally {
        c.close();
      }
    });

    it('refuses a forged token, a token from before an auth change, and an expired one', async () => {
      const [e1] = cluster.endpoints as [string];
      const c = new EtcdClient(e1);
      try {
        const token = await c.authenticate('root', 'rootpw');
        const [h, p, sig] = token.split('.') as [string, string, string];
        c.useToken(`${h}.${p}.${sig.slice(0, -4)}${sig.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`);
        await assert.rejects(c.put({ key: b('x'), value: b('1') }), (err) => detailsOf(err) === 'etcdserver: invalid auth token');

        c.useToken(token);
        await c.put({ key: b('x'), value: b('1') });
        assert.equal((await etcdctl(e1, ['--user', 'root:rootpw', 'user', 'add', 'other:otherpw'])).code, 0);
        await assert.rejects(c.put({ key: b('x'), value: b('2') }), (err) => detailsOf(err) === 'etcdserver: revision of auth store is old');

        await c.authenticate('root', 'rootpw');
        await c.put({ key: b('x'), value: b('3') });
        await eventually('the 3 s token expires', async () => {
          try {
            await c.put({ key: b('x'), value: b('4') });
            return false;
          } catch (err) {
            assert.equal(detailsOf(err), 'etcdserver: invalid auth token');
            return true;
          }
        }, 10_000, 250);
      } finally {
        c.close();
      }
    });
  });
}
