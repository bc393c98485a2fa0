import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdClient } from '../src/client/etcd-client';
import { apiPath, EVENTS, NODES, PODS } from '../src/controlplane/kube-client/api-path';
import { KubeClient } from '../src/controlplane/kube-client/kube-client';
import { Scheduler } from '../src/controlplane/scheduler/scheduler';
import { silentLogger as quiet } from '../src/util/logger';
import { eventually } from '../src/util/eventually';
import { startApiServer, type TestApiServer } from './support/apiserver';
import { startCluster, type ClusterProcesses } from './support/member-process';

const node = (name: string, opts: { cpu?: string; taints?: object[]; unschedulable?: boolean; labels?: Record<string, string> } = {}) => ({
  apiVersion: 'v1', kind: 'Node',
  metadata: { name, labels: { 'kubernetes.io/hostname': name, ...opts.labels } },
  spec: { ...(opts.taints ? { taints: opts.taints } : {}), ...(opts.unschedulable ? { unschedulable: true } : {}) },
  status: { conditions: [{ type: 'Ready', status: 'True' }], allocatable: { cpu: opts.cpu ?? '2', memory: '8Gi', pods: '110' } },
});
const pod = (name: string, cpu = '500m', spec: object = {}) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'sched' } },
  spec: { containers: [{ name: 'c', image: 'none', resources: { requests: { cpu } } }], ...spec },
});

/** The scheduler against a real apiserver on a real Keel member, with Node objects standing in for kubelets. */
describe('keel scheduler', function () {
  this.timeout(60_000);
  let dir: string;
  let cluster: ClusterProcesses;
  let api: TestApiServer;
  let client: KubeClient;
  const schedulers: Scheduler[] = [];
  const PODS_NS = apiPath(PODS, { namespace: 'default' });
  const nodeOf = async (name: string) => (await client.get(apiPath(PODS, { namespace: 'default', name }))).spec.nodeName as string | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-scheduler-'));
    cluster = await startCluster('keel', dir, 1);
    api = await startApiServer(cluster.endpoints);
    client = new KubeClient([api.url]);
    for (const n of [
      node('w1'), node('w2', { labels: { disk: 'ssd' } }),
      node('cp1', { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }),
      node('w3', { unschedulable: true }),
    ]) await client.create(apiPath(NODES), n);
    for (let i = 0; i < 2; i++) {
      const s = new Scheduler(new KubeClient([api.url]), quiet, { backoffMs: 200 });
      schedulers.push(s);
      await s.start();
    }
  });
  after(async () => {
    for (const s of schedulers) s.stop();
    client?.close();
    await api?.close();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('spreads pods over the nodes that fit, never onto a tainted or cordoned one, each bound once by two schedulers', async () => {
    for (let i = 0; i < 6; i++) await client.create(PODS_NS, pod(`p${i}`));
    await eventually('every pod bound', async () => (await client.list(PODS_NS)).items.every((p) => p.spec.nodeName));
    const placed = (await client.list(PODS_NS)).items.map((p) => p.spec.nodeName as string);
    assert.deepEqual([placed.filter((n) => n === 'w1').length, placed.filter((n) => n === 'w2').length], [3, 3]);
    // The scheduler records each event after its bind returns, without waiting for it.
    const scheduledEvents = async () => (await client.list(apiPath(EVENTS, { namespace: 'default' }))).items.filter((e) => e.reason === 'Scheduled');
    await eventually('a Scheduled event per pod', async () => (await scheduledEvents()).length >= 6);
    const scheduled = await scheduledEvents();
    assert.equal(scheduled.length, 6, 'one Scheduled event per pod: no pod was bound twice');
    assert.match(scheduled[0]!.message, /^Successfully assigned default\/p\d to w[12]$/);
  });

  it('follows a nodeSelector', async () => {
    await client.create(PODS_NS, pod('on-ssd', '100m', { nodeSelector: { disk: 'ssd' } }));
    await eventually('on-ssd bound', async () => (await nodeOf('on-ssd')) !== undefined);
    assert.equal(await nodeOf('on-ssd'), 'w2');
  });

  it('marks a stored pod whose requests do not parse unschedulable, and goes on placing the others', async () => {
    // The apiserver refuses such pods now; one stored before that, or by hand, must not stop the scheduler.
    const store = new EtcdClient(cluster.endpoints[0]!);
    const stored = (name: string, nodeName?: string) => ({
      ...pod(name, 'two', { schedulerName: 'default-scheduler', ...(nodeName ? { nodeName } : {}) }),
      metadata: { name, namespace: 'default', uid: `uid-${name}`, creationTimestamp: '2026-11-25T00:00:00Z', labels: {} },
      status: { phase: 'Pending' },
    });
    const keys = ['bad-unbound', 'bad-bound'].map((name) => Buffer.from(`/registry/pods/default/${name}`));
    try {
      await store.put({ key: keys[0]!, value: Buffer.from(JSON.stringify(stored('bad-unbound'))) });
      await eventually('bad-unbound marked unschedulable', async () => {
        const p = await client.get(apiPath(PODS, { namespace: 'default', name: 'bad-unbound' }));
        const c = (p.status?.conditions ?? []).find((x: { type: string }) => x.type === 'PodScheduled');
        return c?.status === 'False' && /^invalid resource requests: quantities must match the regular expression .*: "two"$/.test(c.message);
      });
      // One bound to a node counts there as a pod that requests nothing.
      await store.put({ key: keys[1]!, value: Buffer.from(JSON.stringify(stored('bad-bound', 'w1'))) });
      await client.create(PODS_NS, pod('behind-bad', '100m'));
      await eventually('behind-bad bound', async () => (await nodeOf('behind-bad')) !== undefined);
      assert.equal(await nodeOf('bad-unbound'), undefined);
    } finally {
      for (const key of keys) await store.deleteRange({ key });
      store.close();
    }
  });

  it('leaves a pod that fits nowhere Pending with the reasons, and places it once a node that fits arrives', async () => {
    await client.create(PODS_NS, pod('big', '8'));
    const message = '0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 1 node(s) were unschedulable, 2 Insufficient cpu.';
    await eventually('big marked unschedulable', async () => {
      const p = await client.get(apiPath(PODS, { namespace: 'default', name: 'big' }));
      const c = (p.status?.conditions ?? []).find((x: { type: string }) => x.type === 'PodScheduled');
      return c?.status === 'False' && c.reason === 'Unschedulable' && c.message === message;
    });
    const failed = (await client.list(apiPath(EVENTS, { namespace: 'default' }))).items.filter((e) => e.reason === 'FailedScheduling' && e.involvedObject.name === 'big');
    assert.ok(failed.length >= 1 && failed[0]!.type === 'Warning' && failed[0]!.message === message);
    await client.create(apiPath(NODES), node('w4', { cpu: '16' }));
    await eventually('big bound to the new node', async () => (await nodeOf('big')) === 'w4');
  });

  it('lets a pod that tolerates the control-plane taint onto that node', async () => {
    await client.patch(apiPath(NODES, { name: 'w1' }), { spec: { unschedulable: true } });
    await client.patch(apiPath(NODES, { name: 'w2' }), { spec: { unschedulable: true } });
    await client.patch(apiPath(NODES, { name: 'w4' }), { spec: { unschedulable: true } });
    await client.create(PODS_NS, pod('system', '100m', { tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }] }));
    await eventually('system bound', async () => (await nodeOf('system')) !== undefined);
    assert.equal(await nodeOf('system'), 'cp1');
  });
});
