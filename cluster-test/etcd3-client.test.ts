import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { EtcdClient } from '../src/client/etcd-client';
import { ClusterProcesses, startCluster, waitForLeader } from './support/member-process';

/**
 * The `etcd3` npm client, unchanged, against a three-member Keel cluster: it sends every call to
 * a random member, so each member must serve writes, linearizable reads, leases and watches.
 */
describe('the etcd3 npm client against a three-member cluster', function () {
  this.timeout(60_000);
  let dir: string;
  let cluster: ClusterProcesses;
  let client: Etcd3;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-etcd3-'));
    cluster = await startCluster('keel', dir, 3, ['--heartbeat-interval', '50', '--election-timeout', '500']);
    client = new Etcd3({ hosts: cluster.endpoints });
  });
  after(async () => {
    client.close();
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('puts, gets, lists by prefix and deletes', async () => {
    await client.put('app/a').value('1');
    await client.put('app/b').value('2');
    assert.equal(await client.get('app/a').string(), '1');
    assert.deepEqual(await client.getAll().prefix('app/').strings(), { 'app/a': '1', 'app/b': '2' });
    await client.delete().key('app/a');
    assert.equal(await client.get('app/a').string(), null);
  });

  it('grants a lease, keeps it alive past its TTL, and revoking it deletes its keys', async () => {
    const lease = client.lease(2);
    await lease.put('session/x').value('alive');
    await new Promise((r) => setTimeout(r, 3000)); // longer than the TTL: only the client's keep-alives keep it
    assert.equal(await client.get('session/x').string(), 'alive');
    await lease.revoke();
    assert.equal(await client.get('session/x').string(), null);
  });

  it('watches a prefix with previous values', async () => {
    const watcher = await client.watch().prefix('w/').withPreviousKV().create();
    const seen: string[] = [];
    const done = new Promise<void>((resolve) => {
      watcher.on('put', (kv, prev) => seen.push(`put ${kv.key}=${kv.value} prev=${prev?.value ?? '-'}`));
      watcher.on('delete', (kv) => {
        seen.push(`delete ${kv.key}`);
        resolve();
      });
    });
    await client.put('w/k').value('1');
    await client.put('w/k').value('2');
    await client.delete().key('w/k');
    await done;
    await watcher.cancel();
    assert.deepEqual(seen, ['put w/k=1 prev=-', 'put w/k=2 prev=1', 'delete w/k']);
  });

  it('Lock is held by one holder at a time', async () => {
    // etcd3's Lock is a try-lock: a second acquire fails while the first holds it.
    const first = client.lock('locks/one').ttl(5);
    await first.acquire();
    await assert.rejects(client.lock('locks/one').ttl(5).acquire(), /Failed to acquire a lock/);
    await first.release();
    const second = client.lock('locks/one').ttl(5);
    await second.acquire();
    await second.release();
  });

  it('Election elects one campaigner, and the next after it resigns', async () => {
    const election = client.election('elections/main', 5);
    const first = election.campaign('alpha');
    await first.wait();
    assert.equal(await election.leader(), 'alpha');
    const second = election.campaign('beta');
    await first.resign();
    await second.wait();
    assert.equal(await election.leader(), 'beta');
    await second.resign();
  });

  // Last: it kills a member of the shared cluster.
  it('keeps a lease alive through the crash of the leader', async () => {
    const lease = client.lease(3);
    let lost = false;
    lease.on('lost', () => (lost = true));
    await lease.put('survivor').value('1');
    const leaderId = await waitForLeader(cluster.endpoints);
    const statuses = await Promise.all(cluster.members.map(async (m) => {
      const c = new EtcdClient(m.endpoint);
      try {
        return { m, id: BigInt((await c.status()).header!.member_id).toString(16) };
      } finally {
        c.close();
      }
    }));
    const leader = statuses.find((x) => x.id === leaderId)!.m;
    await leader.kill9();
    // Twice the TTL: the lease lives only if keep-alives reached the new leader meanwhile.
    await new Promise((r) => setTimeout(r, 6000));
    assert.equal(lost, false, 'the client lost its lease');
    const alive = cluster.members.find((m) => m !== leader)!;
    const c = new EtcdClient(alive.endpoint);
    try {
      assert.equal((await c.range({ key: Buffer.from('survivor') })).count, '1');
    } finally {
      c.close();
    }
    await lease.revoke();
  });
});
