import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../src/util/eventually';
import { killContainersMatching, pidsMatching as pids } from './support/processes';
import { startControlPlaneCluster, type RunningCluster } from './support/control-plane-cluster';
import { deployment, pod } from './support/manifests';

/** A word in the command lines of this run's pods, so `pgrep -f` finds exactly their processes. */
const MARK = `keel-e2e-${process.pid}`;

/** `kubectl get -o jsonpath=…` rows: one line per item, fields split on spaces. */
const rows = (text: string) => text.trim().split('\n').filter((l) => l !== '').map((l) => l.split(' '));

/**
 * The whole flow on `npm run cluster`'s topology with the real kubectl: kubectl asks, the
 * apiservers store in Keel, a leader-elected scheduler places, a leader-elected controller-manager
 * keeps the desired state, kubelets run the pods as local processes and report back.
 */
describe('the control plane end to end (npm run cluster, real kubectl)', function () {
  this.timeout(120_000);
  let dir: string;
  let cluster: RunningCluster;
  const kubectl = (...args: string[]) => cluster.kubectl.ok(args);
  /** `kubectl create -f -`: kubectl's own generators (run, create deployment) send protobuf, which this apiserver does not read. */
  const apply = (object: object) => cluster.kubectl.ok(['create', '-f', '-'], JSON.stringify(object));
  const podsOf = async (selector: string) => rows(await kubectl('get', 'pods', '-l', selector, '-o',
    'jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.status.phase} {.metadata.deletionTimestamp}{"\\n"}{end}'));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-e2e-'));
    cluster = await startControlPlaneCluster(dir);
  });
  afterEach(function () {
    // The components' own account of a failure, before the cluster and its logs are gone.
    if (this.currentTest?.state === 'failed') console.log(`last lines of the cluster's output:\n${cluster?.lines.slice(-60).join('\n')}`);
  });
  after(async () => {
    await cluster?.stop();
    killContainersMatching(MARK); // processes of a kubelet a test killed
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('registers five Ready nodes, with the control-plane and etcd roles on three', async () => {
    await eventually('five Ready nodes', async () => {
      const r = await kubectl('get', 'nodes', '--no-headers');
      const nodes = rows(r).map((cols) => cols.filter((c) => c !== ''));
      if (nodes.length === 5 && nodes.every((n) => n[1] === 'Ready')) return true;
      // What the last look saw goes into the failure (a CI run once waited 60 s here, never again in 12 runs alone).
      throw new Error(`the nodes were: ${nodes.map((n) => n.slice(0, 2).join(' ')).join(', ') || 'none'}`);
    }, 60_000, 500);
    const roles = await kubectl('get', 'nodes', '--no-headers', '-o', 'custom-columns=NAME:.metadata.name,ROLES:.metadata.labels');
    assert.match(roles, /cp1 .*node-role.kubernetes.io\/control-plane/);
    const table = await kubectl('get', 'nodes');
    assert.match(table, /cp1\s+Ready\s+control-plane,etcd/);
    assert.match(table, /worker1\s+Ready\s+worker/);
  });

  it('runs a pod on a worker as a process, shows its log, and kills the process when the pod is deleted', async () => {
    await apply(pod('hello', `echo hello from ${MARK}; sleep 1000; : ${MARK}-hello`));
    await eventually('hello running', async () => (await podsOf('run=hello'))[0]?.[2] === 'Running', 60_000, 250);
    const [[, node]] = (await podsOf('run=hello')) as [[string, string]];
    assert.match(node, /^worker[12]$/);
    assert.equal(pids(`${MARK}-hello`).length, 1);
    await eventually('the log', async () => (await kubectl('logs', 'hello')).includes(`hello from ${MARK}`));
    await kubectl('delete', 'pod', 'hello');
    assert.deepEqual(pids(`${MARK}-hello`), []);
  });

  it('spreads a Deployment of 3 over the workers, scales it, and rolls out a new command', async () => {
    await apply(deployment('web', 3, `sleep 1000; : ${MARK}-web-v1`));
    await kubectl('rollout', 'status', 'deployment/web', '--timeout=90s');
    let pods = await podsOf('app=web');
    assert.equal(pods.length, 3);
    assert.deepEqual(new Set(pods.map((p) => p[1])), new Set(['worker1', 'worker2']));
    assert.equal(pids(`${MARK}-web-v1`).length, 3);

    await kubectl('scale', 'deployment/web', '--replicas=5');
    await kubectl('rollout', 'status', 'deployment/web', '--timeout=90s');
    await eventually('5 web processes', () => pids(`${MARK}-web-v1`).length === 5, 60_000, 250);
    await kubectl('scale', 'deployment/web', '--replicas=2');
    await eventually('2 web pods left', async () => (await podsOf('app=web')).length === 2, 60_000, 250);

    await kubectl('patch', 'deployment/web', '--type=json', '-p',
      JSON.stringify([{ op: 'replace', path: '/spec/template/spec/containers/0/command/2', value: `sleep 1000; : ${MARK}-web-v2` }]));
    await kubectl('rollout', 'status', 'deployment/web', '--timeout=90s');
    await eventually('the old processes gone, the new ones running', () => pids(`${MARK}-web-v1`).length === 0 && pids(`${MARK}-web-v2`).length === 2, 60_000, 250);
    pods = await podsOf('app=web');
    assert.equal(pods.length, 2);
  });

  it('drains a worker: its pods are evicted and come back on the other one', async () => {
    await kubectl('drain', 'worker1', '--ignore-daemonsets', '--timeout=60s');
    await eventually('web all on worker2', async () => {
      const pods = (await podsOf('app=web')).filter((p) => p[3] === undefined || p[3] === '');
      return pods.length === 2 && pods.every((p) => p[1] === 'worker2' && p[2] === 'Running');
    }, 60_000, 250);
    await kubectl('uncordon', 'worker1');
  });
});
