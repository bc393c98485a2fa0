import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiPath, LEASES } from '../src/controlplane/kube-client/api-path';
import { KubeClient, type KubeWatch } from '../src/controlplane/kube-client/kube-client';
import { LeaderElector } from '../src/controlplane/leader-election/leader-elector';
import { eventually } from '../src/util/eventually';
import { startApiServer, type TestApiServer } from './support/apiserver';
import { startCluster, type ClusterProcesses } from './support/member-process';

/** Short timings with client-go's proportions, so a test sees several rounds in a few seconds. */
const TIMINGS = { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 200 };

/** A candidate and what happened to it, in order. */
class Candidate {
  readonly elector: LeaderElector;
  readonly client: KubeClient;
  readonly log: string[];
  constructor(readonly identity: string, url: string, lease: string, timeline: string[]) {
    this.client = new KubeClient([url], { requestTimeoutMs: 500 });
    this.log = timeline;
    this.elector = new LeaderElector(this.client, { namespace: 'kube-system', name: lease, identity, releaseOnCancel: true, ...TIMINGS }, {
      startedLeading: () => timeline.push(`${identity} started leading`),
      stoppedLeading: () => timeline.push(`${identity} stopped leading`),
    });
  }
  async close(): Promise<void> {
    await this.elector.stop();
    this.client.close();
  }
}

describe('leader election on a coordination.k8s.io/v1 Lease', function () {
  this.timeout(30_000);
  let dir: string;
  let cluster: ClusterProcesses;
  let api: TestApiServer;
  let reader: KubeClient;
  const candidates: Candidate[] = [];
  const lease = async (name: string) => (await reader.get(apiPath(LEASES, { namespace: 'kube-system', name }))).spec;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-leader-election-'));
    cluster = await startCluster('keel', dir, 1);
    api = await startApiServer(cluster.endpoints);
    reader = new KubeClient([api.url]);
  });
  afterEach(async () => {
    await Promise.all(candidates.splice(0).map((c) => c.close()));
  });
  after(async () => {
    reader?.close();
    await api?.close();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('elects one of three racing candidates, which keeps renewing while the others wait', async () => {
    const timeline: string[] = [];
    for (const id of ['a', 'b', 'c']) candidates.push(new Candidate(id, api.url, 'race', timeline));
    for (const c of candidates) c.elector.run();
    await eventually('a leader', () => candidates.some((c) => c.elector.isLeader()));
    const leader = candidates.find((c) => c.elector.isLeader())!;

    const first = await lease('race');
    assert.equal(first.holderIdentity, leader.identity);
    assert.equal(first.leaseDurationSeconds, 2);
    assert.equal(first.leaseTransitions, 0);
    assert.match(first.renewTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const renewals = new Set<string>();
    await eventually('five renewals by the same leader, with no other leader meanwhile', async () => {
      const now = await lease('race');
      assert.equal(now.holderIdentity, leader.identity);
      assert.equal(candidates.filter((c) => c.elector.isLeader()).length, 1);
      renewals.add(now.renewTime);
      return renewals.size >= 5;
    });
    assert.equal((await lease('race')).acquireTime, first.acquireTime);
    assert.deepEqual(timeline, [`${leader.identity} started leading`]);
  });

  it('releases the lease on a clean stop, and a standby takes it as a new transition', async () => {
    const timeline: string[] = [];
    const a = new Candidate('a', api.url, 'release', timeline);
    candidates.push(a);
    a.elector.run();
    await eventually('a leads', () => a.elector.isLeader());
    const b = new Candidate('b', api.url, 'release', timeline);
    candidates.push(b);
    b.elector.run();
    const holders: string[] = [];
    const watch: KubeWatch = await reader.watch(apiPath(LEASES, { namespace: 'kube-system' }), { fieldSelector: 'metadata.name=release' }, (ev) => {
      const h = ev.object.spec?.holderIdentity;
      if (holders[holders.length - 1] !== h) holders.push(h);
    });
    try {
      await a.elector.stop();
      await eventually('b leads', () => b.elector.isLeader());
      // b's write may be answered before the watch delivers it.
      await eventually('the watch saw b take over', () => holders[holders.length - 1] === 'b');
      assert.deepEqual(holders, ['a', '', 'b']);
      assert.deepEqual(timeline, ['a started leading', 'a stopped leading', 'b started leading']);
      assert.equal((await lease('release')).leaseTransitions, 1);
    } finally {
      watch.close();
    }
  });

  it('stops a leader that cannot renew before a standby, measuring from what it saw, takes over', async () => {
    const timeline: string[] = [];
    const own = await startApiServer(cluster.endpoints); // the leader's only way to the store
    try {
      const a = new Candidate('a', own.url, 'partition', timeline);
      candidates.push(a);
      a.elector.run();
      await eventually('a leads', () => a.elector.isLeader());
      const b = new Candidate('b', api.url, 'partition', timeline);
      candidates.push(b);
      b.elector.run();
      await eventually('b has seen a\'s lease', async () => (await lease('partition')).holderIdentity === 'a');

      await own.close(); // a is cut off from the store
      await eventually('b leads', () => b.elector.isLeader(), 10_000);
      assert.deepEqual(timeline, ['a started leading', 'a stopped leading', 'b started leading']);
      assert.equal(a.elector.isLeader(), false);
      const now = await lease('partition');
      assert.deepEqual([now.holderIdentity, now.leaseTransitions], ['b', 1]);
    } finally {
      await own.close();
    }
  });
});
