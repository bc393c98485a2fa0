import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../src/util/eventually';
import { deployment, pod } from './support/manifests';
import { killContainersMatching } from './support/processes';
import { startControlPlaneCluster, type RunningCluster } from './support/control-plane-cluster';

const MARK = `keel-faults-${process.pid}`;

/**
 * Faults on `npm run cluster --short-timeouts` (leader election 4 s / 3 s / 0.5 s, node grace 8 s,
 * unreachable toleration 5 s) with the real kubectl. Each prints the times it measured; the
 * README's control-plane section reports them.
 */
describe('the control plane through faults (npm run cluster)', function () {
  this.timeout(180_000);
  let dir: string;
  let cluster: RunningCluster;
  const run = (...args: string[]) => cluster.kubectl.ok(args);
  const create = (object: object) => cluster.kubectl.ok(['create', '-f', '-'], JSON.stringify(object));
  const get = (kind: string, name: string, path: string, ns = 'default') => run('get', kind, name, '-n', ns, '-o', `jsonpath=${path}`);
  const podsOf = async (selector: string) => (await run('get', 'pods', '-l', selector, '-o',
    'jsonpath={range .items[*]}{.spec.nodeName}/{.status.phase}/{.metadata.deletionTimestamp}{" "}{end}')).trim().split(' ').filter((p) => p !== '');
  /** The `<node>/scheduler`-style name of the process that holds a Lease, from the lines it logged. */
  const holderProcess = async (lease: string) => {
    const identity = await get('lease', lease, '{.spec.holderIdentity}', 'kube-system');
    const line = cluster.lines.find((l) => l.includes('successfully acquired lease') && l.includes(identity));
    assert.ok(line, `no process logged taking ${lease} as ${identity}`);
    return line.split(' |')[0]!.trim();
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-faults-'));
    cluster = await startControlPlaneCluster(dir);
    await eventually('five Ready nodes', async () => (await run('get', 'nodes', '--no-headers')).split('\n').filter((l) => / Ready /.test(l)).length === 5, 60_000, 500);
  });
  after(async () => {
    await cluster?.stop();
    killContainersMatching(MARK);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('kill -9 of the leading scheduler: another takes over and schedules the pods created meanwhile', async () => {
    await eventually('a scheduler leads', async () => (await get('lease', 'kube-scheduler', '{.spec.holderIdentity}', 'kube-system')) !== '', 30_000, 250);
    const leader = await holderProcess('kube-scheduler');
    const before = await get('lease', 'kube-scheduler', '{.spec.holderIdentity}', 'kube-system');
    const killedAt = Date.now();
    process.kill(cluster.pidOf(leader), 'SIGKILL');
    await create(pod('pending', `sleep 1000; : ${MARK}`));
    await eventually('a new scheduler leads', async () => (await get('lease', 'kube-scheduler', '{.spec.holderIdentity}', 'kube-system')) !== before, 60_000, 100);
    const tookOver = Date.now() - killedAt;
    await eventually('the pending pod runs', async () => (await get('pod', 'pending', '{.status.phase}')) === 'Running', 60_000, 100);
    const scheduled = Date.now() - killedAt;
    assert.notEqual(await holderProcess('kube-scheduler'), leader);
    console.log(`      ${leader} killed: new leader after ${tookOver} ms (lease 4 s + retry 0.5 s), pod Running after ${scheduled} ms`);
  });

  it('kill -9 of a worker\'s kubelet: its node goes NotReady and its pods come back on the other worker', async () => {
    await create(deployment('survivor', 4, `sleep 1000; : ${MARK}`));
    await run('rollout', 'status', 'deployment/survivor', '--timeout=90s');
    assert.ok((await podsOf('app=survivor')).some((p) => p.startsWith('worker2/')), 'some pods on worker2');
    const killedAt = Date.now();
    process.kill(cluster.pidOf('worker2/kubelet'), 'SIGKILL');
    await eventually('worker2 NotReady', async () => (await get('node', 'worker2', '{.status.conditions[?(@.type=="Ready")].status}')) === 'Unknown', 60_000, 250);
    const notReady = Date.now() - killedAt;
    // Status, the pods' readiness and the taint are separate writes: the taint comes last.
    await eventually('worker2 tainted unreachable', async () => /node.kubernetes.io\/unreachable/.test(await get('node', 'worker2', '{.spec.taints[*].key}')), 30_000, 250);
    await eventually('4 pods running on worker1', async () => {
      const live = (await podsOf('app=survivor')).filter((p) => !p.startsWith('worker2/'));
      return live.length === 4 && live.every((p) => p === 'worker1/Running/');
    }, 90_000, 250);
    const recreated = Date.now() - killedAt;
    console.log(`      worker2/kubelet killed: node Unknown after ${notReady} ms (grace 8 s), pods Running on worker1 after ${recreated} ms (toleration 5 s)`);
  });

  it('kill -9 of a Keel member and an apiserver: the flow goes on', async () => {
    process.kill(cluster.pidOf('cp2/keel'), 'SIGKILL');
    process.kill(cluster.pidOf('cp3/apiserver'), 'SIGKILL');
    const killedAt = Date.now();
    await create(deployment('after-loss', 2, `sleep 1000; : ${MARK}`));
    await run('rollout', 'status', 'deployment/after-loss', '--timeout=90s');
    assert.deepEqual(await podsOf('app=after-loss'), ['worker1/Running/', 'worker1/Running/']);
    console.log(`      cp2/keel and cp3/apiserver killed: a new Deployment of 2 available after ${Date.now() - killedAt} ms`);
  });
});
