import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdClient } from '../src/client/etcd-client';
import { MemberProcess, startCluster, startKeel, waitForLeader } from './support/member-process';

describe('leases across a restart', function () {
  this.timeout(60_000);
  let dir: string;
  let member: MemberProcess | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-lease-restart-'));
  });
  after(async () => {
    await member?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  // A clean stop saves the key index with each key's lease (mvcc/index-checkpoint.ts); a kill -9
  // leaves the next start to rebuild both from the records.
  const halts: Array<[string, (m: MemberProcess) => Promise<void>]> = [['kill -9', (m) => m.kill9()], ['a clean stop', (m) => m.stop()]];
  for (const [i, [how, halt]] of halts.entries()) {
    it(`keeps a lease and its keys through ${how}, and revoking it afterwards deletes them`, async () => {
      member = await startKeel({ baseDir: join(dir, `one-${i}`) });
      let client = new EtcdClient(member.endpoint);
      await client.leaseGrant({ ID: 77, TTL: 600 });
      await client.put({ key: Buffer.from('held'), value: Buffer.from('1'), lease: 77 });
      await client.put({ key: Buffer.from('free'), value: Buffer.from('1') });
      client.close();
      await halt(member);
      member = await member.restart();
      client = new EtcdClient(member.endpoint);
      try {
        const ttl = await client.leaseTimeToLive({ ID: 77, keys: true });
        assert.equal(ttl.grantedTTL, '600');
        assert.deepEqual(ttl.keys.map(String), ['held']);
        await client.leaseRevoke({ ID: 77 });
        assert.equal((await client.range({ key: Buffer.from('held') })).count, '0');
        assert.equal((await client.range({ key: Buffer.from('free') })).count, '1');
      } finally {
        client.close();
        await member.stop();
      }
    });
  }

  it('keeps leases when every member of a cluster is killed and restarted', async () => {
    const cluster = await startCluster('keel', join(dir, 'three'), 3, ['--heartbeat-interval', '50', '--election-timeout', '500']);
    let members = cluster.members;
    try {
      const client = new EtcdClient(cluster.endpoints[0]!);
      await client.leaseGrant({ ID: 88, TTL: 600 });
      await client.put({ key: Buffer.from('cluster-held'), value: Buffer.from('1'), lease: 88 });
      client.close();
      await Promise.all(members.map((m) => m.kill9()));
      members = await Promise.all(members.map((m) => m.restart()));
      await waitForLeader(members.map((m) => m.endpoint));
      for (const m of members) {
        const c = new EtcdClient(m.endpoint);
        try {
          const ttl = await c.leaseTimeToLive({ ID: 88, keys: true });
          assert.equal(ttl.grantedTTL, '600', `on ${m.name}`);
          assert.deepEqual(ttl.keys.map(String), ['cluster-held']);
        } finally {
          c.close();
        }
      }
    } finally {
      await Promise.all(members.map((m) => m.stop()));
    }
  });
});
