import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiPath, EVENTS, LEASES, NODES, PODS } from '../src/controlplane/kube-client/api-path';
import { isNotFound } from '../src/controlplane/kube-client/kube-api-error';
import { KubeClient } from '../src/controlplane/kube-client/kube-client';
import type { KubeObject } from '../src/controlplane/kube-object';
import { eventually } from '../src/util/eventually';
import { alive, pidsMatching as pids } from './support/processes';
import { startApiServer, type TestApiServer } from './support/apiserver';
import { startComponentProcess, type ComponentProcess } from './support/component-process';
import { Kubectl } from './support/kubectl';
import { startCluster, type ClusterProcesses } from './support/member-process';

const MARK = `keel-kubelet-test-${process.pid}`;
const pod = (name: string, node: string, container: KubeObject, spec: KubeObject = {}) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { nodeName: node, terminationGracePeriodSeconds: 2, containers: [{ name: 'main', image: 'none', ...container }], ...spec },
});

/** keel-kubelet as a real process against a real apiserver on Keel, pods bound to it directly. */
describe('keel-kubelet', function () {
  this.timeout(60_000);
  let dir: string;
  let cluster: ClusterProcesses;
  let api: TestApiServer;
  let client: KubeClient;
  let kubelet: ComponentProcess;
  const NS = apiPath(PODS, { namespace: 'default' });
  const get = (name: string) => client.get(apiPath(PODS, { namespace: 'default', name }));
  const statusOf = async (name: string) => (await get(name)).status ?? {};

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-kubelet-'));
    cluster = await startCluster('keel', dir, 1);
    api = await startApiServer(cluster.endpoints);
    client = new KubeClient([api.url]);
    await mkdir(join(dir, 'manifests'));
    await writeFile(join(dir, 'manifests', 'web.yaml'), [
      'apiVersion: v1', 'kind: Pod', 'metadata:', '  name: static-web', 'spec:', '  containers:', '  - name: web', '    image: none',
      `    command: ["sh", "-c", "sleep 1000; : ${MARK}-static"]`, '',
    ].join('\n'));
    kubelet = await startComponentProcess('keel-kubelet', [
      '--apiservers', api.url, '--node-name', 'w1', '--node-roles', 'worker', '--root-dir', join(dir, 'kubelet'), '--port', '0',
      '--pod-manifest-path', join(dir, 'manifests'), '--node-lease-renew-interval', '300ms', '--node-status-update-frequency', '1s', '--restart-backoff', '200ms',
    ], /ready, serving logs/);
  });
  after(async () => {
    await kubelet?.stop();
    for (const pid of pids(MARK)) process.kill(pid, 'SIGKILL');
    client?.close();
    await api?.close();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('registers its Node Ready with its role, and keeps renewing its Lease', async () => {
    const node = await client.get(apiPath(NODES, { name: 'w1' }));
    assert.equal(node.metadata.labels['node-role.kubernetes.io/worker'], 'true');
    assert.equal(node.status.conditions.find((c: KubeObject) => c.type === 'Ready').status, 'True');
    assert.ok(node.status.daemonEndpoints.kubeletEndpoint.Port > 0);
    const renewals = new Set<string>();
    await eventually('three lease renewals', async () => {
      renewals.add((await client.get(apiPath(LEASES, { namespace: 'kube-node-lease', name: 'w1' }))).spec.renewTime);
      return renewals.size >= 3;
    }, 10_000, 100);
  });

  it('moves a node condition\'s lastTransitionTime only when its status changes, not on every heartbeat', async () => {
    const ready = async () => (await client.get(apiPath(NODES, { name: 'w1' }))).status.conditions.find((c: KubeObject) => c.type === 'Ready');
    const first = await ready();
    await eventually('a later heartbeat', async () => (await ready()).lastHeartbeatTime > first.lastHeartbeatTime, 10_000, 100);
    assert.equal((await ready()).lastTransitionTime, first.lastTransitionTime);
    // What the node lifecycle controller does when heartbeats stop; the kubelet's next one is a transition.
    await client.patch(apiPath(NODES, { name: 'w1', subresource: 'status' }),
      { status: { conditions: [{ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', lastHeartbeatTime: first.lastHeartbeatTime, lastTransitionTime: first.lastHeartbeatTime }] } }, 'strategic');
    await eventually('Ready again', async () => (await ready()).status === 'True', 10_000, 100);
    const back = await ready();
    assert.ok(back.lastTransitionTime > first.lastHeartbeatTime, `${back.lastTransitionTime} is when it became Ready again`);
  });

  it('runs a pod as a process, reports it Running and Ready, serves kubectl logs, and kills it on delete', async () => {
    await client.create(NS, pod('hello', 'w1', { command: ['sh', '-c', `echo hello from the kubelet; sleep 1000; : ${MARK}-hello`] }));
    await eventually('hello Running and Ready', async () => {
      const s = await statusOf('hello');
      return s.phase === 'Running' && s.conditions?.some((c: KubeObject) => c.type === 'Ready' && c.status === 'True');
    });
    assert.equal(pids(`${MARK}-hello`).length, 1);
    const kubectl = await Kubectl.forServer(dir, api.url);
    await eventually('kubectl logs', async () => (await kubectl.run(['logs', 'hello'])).stdout === 'hello from the kubelet\n');
    const del = await kubectl.run(['delete', 'pod', 'hello']);
    assert.equal(del.code, 0, del.stderr);
    assert.deepEqual(pids(`${MARK}-hello`), []);
    await assert.rejects(get('hello'), isNotFound);
  });

  it('restarts a failing container with a growing back-off, counting restarts', async () => {
    await client.create(NS, pod('crasher', 'w1', { command: ['sh', '-c', 'echo crashing; exit 3'] }));
    await eventually('two restarts', async () => ((await statusOf('crasher')).containerStatuses?.[0]?.restartCount ?? 0) >= 2, 20_000, 100);
    const s = (await statusOf('crasher')).containerStatuses[0];
    assert.equal(s.lastState.terminated.exitCode, 3);
    await client.delete(apiPath(PODS, { namespace: 'default', name: 'crasher' }));
  });

  it('ends what a container started when it exits or its pod is deleted', async () => {
    const started = join(dir, 'leaky-children');
    const livingChildren = async () => (await readFile(started, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '').map(Number).filter(alive);
    try {
      await client.create(NS, pod('leaky', 'w1', { command: ['sh', '-c', `sleep 600 & echo $! >> ${started}; sleep 600 & echo $! >> ${started}; exit 1`] }));
      await eventually('leaky restarted twice', async () => ((await statusOf('leaky')).containerStatuses?.[0]?.restartCount ?? 0) >= 2, 20_000, 100);
      await eventually('the children of the runs that ended are gone', async () => (await livingChildren()).length <= 2); // the run now under way may have its two
      await client.delete(apiPath(PODS, { namespace: 'default', name: 'leaky' }));
      await eventually('leaky deleted', async () => get('leaky').then(() => false, isNotFound));
      await eventually('no child left', async () => (await livingChildren()).length === 0);
    } finally {
      for (const pid of await livingChildren()) process.kill(pid, 'SIGKILL');
    }
  });

  it('leaves a pod that ended with restartPolicy Never as Failed', async () => {
    await client.create(NS, pod('once', 'w1', { command: ['sh', '-c', 'exit 2'] }, { restartPolicy: 'Never' }));
    await eventually('once Failed', async () => (await statusOf('once')).phase === 'Failed');
    assert.equal((await statusOf('once')).containerStatuses[0].state.terminated.exitCode, 2);
  });

  it('follows a readiness probe, and restarts a container whose liveness probe fails', async () => {
    const flag = join(dir, 'ready-flag');
    await client.create(NS, pod('probed', 'w1', {
      command: ['sh', '-c', `sleep 1000; : ${MARK}-probed`],
      readinessProbe: { exec: { command: ['test', '-f', flag] }, periodSeconds: 1, failureThreshold: 1 },
      livenessProbe: { exec: { command: ['test', '!', '-f', `${flag}.dead`] }, periodSeconds: 1, failureThreshold: 1 },
    }));
    const ready = async () => (await statusOf('probed')).containerStatuses?.[0]?.ready === true;
    await eventually('probed running, not ready', async () => (await statusOf('probed')).phase === 'Running' && !(await ready()));
    await writeFile(flag, '');
    await eventually('probed ready', ready);
    await writeFile(`${flag}.dead`, '');
    await eventually('probed restarted by its liveness probe', async () => ((await statusOf('probed')).containerStatuses?.[0]?.restartCount ?? 0) >= 1, 20_000);
    await rm(`${flag}.dead`);
    await client.delete(apiPath(PODS, { namespace: 'default', name: 'probed' }));
  });

  it('reports a container without a command as CreateContainerError, and runs the other pods', async () => {
    await client.create(NS, pod('no-command', 'w1', {}));
    await eventually('no-command waiting with CreateContainerError', async () => {
      const waiting = (await statusOf('no-command')).containerStatuses?.[0]?.state?.waiting;
      return waiting?.reason === 'CreateContainerError' && waiting.message === 'no command specified';
    });
    await eventually('a Failed event saying why', async () => (await client.list(apiPath(EVENTS, { namespace: 'default' }), { fieldSelector: 'involvedObject.name=no-command' }))
      .items.some((e) => e.type === 'Warning' && e.reason === 'Failed' && e.message === 'Error: no command specified'));
    await client.create(NS, pod('after-no-command', 'w1', { command: ['sh', '-c', `sleep 1000; : ${MARK}-after`] }));
    await eventually('after-no-command Running', async () => (await statusOf('after-no-command')).phase === 'Running');
    for (const name of ['no-command', 'after-no-command']) await client.delete(apiPath(PODS, { namespace: 'default', name }));
  });

  it('runs a static pod from its manifest directory, with a mirror pod', async () => {
    await eventually('mirror pod Running', async () => {
      try {
        const s = await statusOf('static-web-w1');
        return s.phase === 'Running';
      } catch {
        return false;
      }
    });
    const mirror = await get('static-web-w1');
    assert.equal(mirror.metadata.annotations['kubernetes.io/config.mirror'], 'web.yaml');
    assert.equal(pids(`${MARK}-static`).length, 1);
  });

  it('simulates many nodes without running anything (--simulate-nodes)', async () => {
    const sim = await startComponentProcess('keel-kubelet', [
      '--apiservers', api.url, '--node-name', 'kwok', '--simulate', '--simulate-nodes', '3', '--root-dir', join(dir, 'sim'), '--port', '0',
    ], /ready, serving logs/);
    try {
      const names = (await client.list(apiPath(NODES))).items.map((n) => n.metadata.name).filter((n) => n.startsWith('kwok-')).sort();
      assert.deepEqual(names, ['kwok-0', 'kwok-1', 'kwok-2']);
      await client.create(NS, pod('simulated', 'kwok-1', { command: ['sh', '-c', `sleep 1000; : ${MARK}-simulated`] }));
      await eventually('simulated Running', async () => (await statusOf('simulated')).phase === 'Running');
      assert.deepEqual(pids(`${MARK}-simulated`), []);
    } finally {
      await sim.stop();
    }
  });
});
