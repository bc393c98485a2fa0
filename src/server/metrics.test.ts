import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { once } from 'node:events';
import { InProcessCluster, startInProcessCluster } from '../cmd/in-process-member';
import { eventually } from '../util/eventually';

/** The value of a metric's sample (histograms: the sample named `${name}${suffix}`). */
async function value(registry: Registry, name: string, suffix = ''): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  assert.ok(metric, `no metric ${name}`);
  const samples = metric.values as Array<{ value: number; metricName?: string }>;
  const sample = suffix === '' ? samples[0] : samples.find((v) => v.metricName === `${name}${suffix}`);
  assert.ok(sample, `no sample ${name}${suffix}`);
  return sample.value;
}

describe('member metrics (etcd names)', function () {
  this.timeout(20_000);
  let c: InProcessCluster;
  afterEach(() => c.close());

  it('report leadership, proposals and fsyncs as they are', async () => {
    c = await startInProcessCluster(3);
    const leader = await c.leader();
    for (let i = 0; i < 10; i++) await leader.client.put({ key: Buffer.from(`k${i}`), value: Buffer.from('v') });
    for (const m of c.members) {
      assert.equal(await value(m.registry, 'etcd_server_has_leader'), 1);
      assert.equal(await value(m.registry, 'etcd_server_is_leader'), m === leader ? 1 : 0);
      assert.ok(await value(m.registry, 'etcd_server_leader_changes_seen_total') >= 1);
    }
    const applied = await value(leader.registry, 'etcd_server_proposals_applied_total');
    assert.equal(applied, (await leader.server.status()).raftAppliedIndex);
    assert.ok(applied >= 10 + 3, 'ten puts after the three bootstrap entries');
    assert.ok(await value(leader.registry, 'etcd_disk_wal_fsync_duration_seconds', '_count') >= 1);
    assert.equal(await value(leader.registry, 'etcd_debugging_mvcc_current_revision'), 11);
  });

  it('count leases granted and revoked on every member, and renewed on the leader', async () => {
    c = await startInProcessCluster(3);
    const leader = await c.leader();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await leader.client.leaseGrant({ TTL: 60 })).ID);
    await leader.client.leaseRevoke({ ID: ids[0]! });
    const stream = leader.client.leaseKeepAliveStream();
    for (const ID of ids.slice(1)) {
      stream.write({ ID });
      await once(stream, 'data');
    }
    stream.end();
    // Followers apply the grants and the revoke a moment after the leader answered.
    await eventually('every member applied the revoke', async () => {
      const revoked = await Promise.all(c.members.map((m) => value(m.registry, 'etcd_debugging_lease_revoked_total')));
      return revoked.every((n) => n === 1);
    });
    for (const m of c.members) {
      assert.equal(await value(m.registry, 'etcd_debugging_lease_granted_total'), 3);
      assert.equal(await value(m.registry, 'etcd_debugging_lease_renewed_total'), m === leader ? 2 : 0);
    }
  });
});
