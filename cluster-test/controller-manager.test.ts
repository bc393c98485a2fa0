import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControllerManager } from '../src/controlplane/controllers/controller-manager';
import { sameTemplate } from '../src/controlplane/controllers/deployment-controller';
import { apiPath, DEPLOYMENTS, ENDPOINTS, NAMESPACES, NODES, PODS, REPLICA_SETS, SERVICES } from '../src/controlplane/kube-client/api-path';
import { isNotFound } from '../src/controlplane/kube-client/kube-api-error';
import { KubeClient } from '../src/controlplane/kube-client/kube-client';
import { silentLogger as quiet } from '../src/util/logger';
import { eventually } from '../src/util/eventually';
import { startApiServer, type TestApiServer } from './support/apiserver';
import { deployment } from './support/manifests';
import { startCluster, type ClusterProcesses } from './support/member-process';

/** The controllers against a real apiserver on Keel; no kubelet runs, so tests play its part on pod status. */
describe('keel controller-manager', function () {
  this.timeout(60_000);
  let dir: string;
  let cluster: ClusterProcesses;
  let api: TestApiServer;
  let client: KubeClient;
  let manager: ControllerManager;
  const ns = 'default';
  const podsWith = async (label: string) => (await client.list(apiPath(PODS, { namespace: ns }), { labelSelector: label })).items.filter((p) => !p.metadata.deletionTimestamp);
  const markReady = async (name: string, ip: string) => client.patch(apiPath(PODS, { namespace: ns, name, subresource: 'status' }),
    { status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] } });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-controllers-'));
    cluster = await startCluster('keel', dir, 1);
    api = await startApiServer(cluster.endpoints);
    client = new KubeClient([api.url]);
    manager = new ControllerManager(new KubeClient([api.url]), { monitorPeriodMs: 500, gracePeriodMs: 5000, defaultTolerationSeconds: 300 }, quiet);
    await manager.start();
  });
  after(async () => {
    manager?.stop();
    client?.close();
    await api?.close();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('creates a Deployment\'s ReplicaSet and pods, and deleting the Deployment removes both (garbage collection)', async () => {
    await client.create(apiPath(DEPLOYMENTS, { namespace: ns }), deployment('gc', 3, 'sleep 1'));
    await eventually('3 pods', async () => (await podsWith('app=gc')).length === 3);
    const rs = (await client.list(apiPath(REPLICA_SETS, { namespace: ns }))).items.filter((r) => r.metadata.name.startsWith('gc-'));
    assert.equal(rs.length, 1);
    assert.equal(rs[0]!.metadata.annotations['deployment.kubernetes.io/revision'], '1');
    await client.delete(apiPath(DEPLOYMENTS, { namespace: ns, name: 'gc' }));
    await eventually('the ReplicaSet and pods gone', async () => (await podsWith('app=gc')).length === 0
      && (await client.get(apiPath(REPLICA_SETS, { namespace: ns, name: rs[0]!.metadata.name })).then(() => false, (err) => isNotFound(err))));
  });

  it('rolls back to the old ReplicaSet, as `kubectl rollout undo` sends its template, and makes it the newest revision', async () => {
    const path = apiPath(DEPLOYMENTS, { namespace: ns, name: 'undo' });
    await client.create(apiPath(DEPLOYMENTS, { namespace: ns }), deployment('undo', 1, 'sleep 1'));
    const v1 = structuredClone((await client.get(path)).spec.template);
    const owned = async () => (await client.list(apiPath(REPLICA_SETS, { namespace: ns }))).items.filter((rs) => rs.metadata.name.startsWith('undo-'));
    await eventually('the first ReplicaSet', async () => (await owned()).length === 1);
    await client.patch(path, { spec: { template: { spec: { containers: [{ name: 'undo', command: ['sh', '-c', 'sleep 2'] }] } } } }, 'strategic');
    await eventually('the second ReplicaSet', async () => (await owned()).length === 2);
    // kubectl sends the old ReplicaSet's template back with Go's zero values spelled out.
    await client.patch(path, { spec: { template: { ...v1, metadata: { ...v1.metadata, creationTimestamp: null } } } }, 'merge');
    const first = (await owned()).find((rs) => sameTemplate(rs.spec.template, v1))!;
    await eventually('the first ReplicaSet is revision 3', async () =>
      (await client.get(apiPath(REPLICA_SETS, { namespace: ns, name: first.metadata.name }))).metadata.annotations?.['deployment.kubernetes.io/revision'] === '3');
    assert.equal((await owned()).length, 2, 'no third ReplicaSet for the template rolled back to');
    await client.delete(path);
  });

  it('lets a ReplicaSet adopt a matching orphan and delete its surplus', async () => {
    const template = { metadata: { labels: { app: 'adopt' } }, spec: { containers: [{ name: 'c', image: 'none', command: ['true'] }] } };
    for (const name of ['orphan-1', 'orphan-2', 'orphan-3']) {
      await client.create(apiPath(PODS, { namespace: ns }), { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'adopt' } }, spec: template.spec });
    }
    await client.create(apiPath(REPLICA_SETS, { namespace: ns }), {
      apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'adopt' }, spec: { replicas: 2, selector: { matchLabels: { app: 'adopt' } }, template },
    });
    await eventually('2 pods, owned by the ReplicaSet', async () => {
      const pods = await podsWith('app=adopt');
      return pods.length === 2 && pods.every((p) => p.metadata.ownerReferences?.[0]?.name === 'adopt' && p.metadata.name.startsWith('orphan-'));
    });
    await eventually('status counts 2', async () => (await client.get(apiPath(REPLICA_SETS, { namespace: ns, name: 'adopt' }))).status?.replicas === 2);
  });

  it('keeps a Service\'s Endpoints to its ready pods', async () => {
    await client.create(apiPath(SERVICES, { namespace: ns }), { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'adopt' }, ports: [{ port: 80, targetPort: 8080 }] } });
    const [a, b] = (await podsWith('app=adopt')).map((p) => p.metadata.name as string) as [string, string];
    await markReady(a, '10.0.0.1');
    await client.patch(apiPath(PODS, { namespace: ns, name: b, subresource: 'status' }), { status: { phase: 'Running', podIP: '10.0.0.2' } });
    await eventually('one ready and one not-ready address', async () => {
      const ep = await client.get(apiPath(ENDPOINTS, { namespace: ns, name: 'web' })).catch(() => undefined);
      const s = ep?.subsets?.[0];
      return s?.addresses?.[0]?.ip === '10.0.0.1' && s?.notReadyAddresses?.[0]?.ip === '10.0.0.2' && s?.ports?.[0]?.port === 8080;
    });
    await markReady(b, '10.0.0.2');
    await eventually('both ready', async () => (await client.get(apiPath(ENDPOINTS, { namespace: ns, name: 'web' }))).subsets?.[0]?.addresses?.length === 2);
  });

  it('resolves a named targetPort to each pod\'s own port of that name, and deletes the Endpoints with their Service', async () => {
    const servesHttpOn = (name: string, containerPort: number) => ({
      apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'named' } },
      spec: { containers: [{ name: 'c', image: 'none', ports: [{ name: 'metrics', containerPort: 9100 }, { name: 'http', containerPort }] }] },
    });
    await client.create(apiPath(PODS, { namespace: ns }), servesHttpOn('named-a', 8080));
    await client.create(apiPath(PODS, { namespace: ns }), servesHttpOn('named-b', 8081));
    await markReady('named-a', '10.0.1.1');
    await markReady('named-b', '10.0.1.2');
    await client.create(apiPath(SERVICES, { namespace: ns }), { apiVersion: 'v1', kind: 'Service', metadata: { name: 'named' }, spec: { selector: { app: 'named' }, ports: [{ name: 'web', port: 80, targetPort: 'http' }] } });
    const endpoints = apiPath(ENDPOINTS, { namespace: ns, name: 'named' });
    const portsByIp = async () => Object.fromEntries(((await client.get(endpoints).catch(() => undefined))?.subsets ?? [])
      .flatMap((s: { addresses?: Array<{ ip: string }>; ports: Array<{ port: number }> }) => (s.addresses ?? []).map((a) => [a.ip, s.ports.map((p) => p.port)])).sort());
    await eventually('each pod at its own http port', async () => JSON.stringify(await portsByIp()) === JSON.stringify({ '10.0.1.1': [8080], '10.0.1.2': [8081] }));
    await client.delete(apiPath(SERVICES, { namespace: ns, name: 'named' }));
    await eventually('the Endpoints deleted with the Service', async () => client.get(endpoints).then(() => false, isNotFound));
  });

  /** A node as its kubelet registers it, Ready at `heartbeat`, with `taints`. */
  const readyNode = (name: string, heartbeat: string, taints: object[] = []) => ({
    apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: { taints },
    status: { conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: heartbeat, lastTransitionTime: heartbeat }] },
  });
  const boundPod = (name: string, node: string, tolerations: object[] = []) => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { nodeName: node, tolerations, containers: [{ name: 'c', image: 'x' }] },
  });
  const pod = async (name: string) => client.get(apiPath(PODS, { namespace: ns, name }));

  it('evicts at once a pod that does not tolerate a NoExecute taint on its node, and keeps one that does', async () => {
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    await client.create(apiPath(NODES, {}), readyNode('tainted', now, [{ key: 'dedicated', value: 'db', effect: 'NoExecute', timeAdded: now }]));
    await client.create(apiPath(PODS, { namespace: ns }), boundPod('intolerant', 'tainted'));
    await client.create(apiPath(PODS, { namespace: ns }), boundPod('tolerant', 'tainted', [{ key: 'dedicated', value: 'db', effect: 'NoExecute' }]));
    await eventually('the intolerant pod evicted', async () => Boolean((await pod('intolerant')).metadata.deletionTimestamp));
    assert.equal((await pod('tolerant')).metadata.deletionTimestamp, undefined);
    await client.delete(apiPath(NODES, { name: 'tainted' }));
  });

  it('marks the pods of a node that stopped posting status not Ready, so its Service stops sending them traffic', async () => {
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    await client.create(apiPath(NODES, {}), readyNode('silent', now));
    await client.create(apiPath(PODS, { namespace: ns }), boundPod('stranded', 'silent'));
    await markReady('stranded', '10.9.9.9');
    await eventually('the pod marked not Ready', async () => {
      const conditions = (await pod('stranded')).status?.conditions ?? [];
      return conditions.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'False');
    }, 20_000);
    await client.delete(apiPath(NODES, { name: 'silent' }));
  });

  it('deletes what a deleted namespace held', async () => {
    await client.create(apiPath(NAMESPACES), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } });
    await client.create(apiPath(DEPLOYMENTS, { namespace: 'doomed' }), deployment('inside', 2, 'sleep 1'));
    await eventually('2 pods in doomed', async () => (await client.list(apiPath(PODS, { namespace: 'doomed' }))).items.length === 2);
    await client.delete(apiPath(NAMESPACES, { name: 'doomed' }));
    await eventually('doomed emptied', async () => (await client.list(apiPath(PODS, { namespace: 'doomed' }))).items.length === 0
      && (await client.list(apiPath(DEPLOYMENTS, { namespace: 'doomed' }))).items.length === 0
      && (await client.list(apiPath(REPLICA_SETS, { namespace: 'doomed' }))).items.length === 0);
  });
});
