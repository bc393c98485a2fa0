import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../src/util/eventually';
import { startApiServerProcess, type ApiServerProcess } from './support/apiserver-process';
import { Kubectl, kubectlInstalled, KUBECTL_BIN } from './support/kubectl';
import { freePort, startEtcd, startKeel, type MemberKind, type MemberProcess } from './support/member-process';

/**
 * The real kubectl against `keel-apiserver` on a Keel member, and the same on a real etcd: the
 * commands an operator types, with their output as kubectl prints it. The apiserver is given a dead
 * etcd endpoint first, so every run also shows it failing over to the live one.
 */
const NODE = `
apiVersion: v1
kind: Node
metadata:
  name: worker-1
  labels: {node-role.kubernetes.io/worker: ""}
status:
  conditions: [{type: Ready, status: "True"}]
  addresses: [{type: InternalIP, address: 10.0.0.7}]
  nodeInfo: {kubeletVersion: v1.32.0, osImage: Debian}
`;

const pod = (name: string) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: ${name}}}
spec:
  containers: [{name: main, image: busybox, command: [sleep, "3600"]}]
`;

const deployment = (replicas: number) => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.25"}]
`;

/** kubectl's table output as rows of cells (header first). */
function rows(text: string): string[][] {
  return text.trim().split('\n').map((l) => l.trim().split(/\s{2,}/));
}

for (const kind of ['keel', 'etcd'] as MemberKind[]) describe(`kubectl against keel-apiserver on ${kind}`, function () {
  this.timeout(30_000);
  let dir: string;
  let member: MemberProcess;
  let api: ApiServerProcess;
  let kubectl: Kubectl;

  before(async function () {
    if (!kubectlInstalled()) {
      console.log(`    kubectl is not installed at ${KUBECTL_BIN}: skipping the kubectl tests`);
      this.skip();
    }
    dir = await mkdtemp(join(tmpdir(), `keel-kubectl-${kind}-`));
    member = await (kind === 'keel' ? startKeel : startEtcd)({ baseDir: dir });
    const dead = `http://127.0.0.1:${await freePort()}`;
    api = await startApiServerProcess([dead, `http://${member.endpoint}`]);
    kubectl = await Kubectl.forServer(dir, api.url);
  });
  after(async () => {
    await api?.stop();
    await member?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('api-resources lists every served kind from discovery', async () => {
    const out = rows(await kubectl.ok(['api-resources']));
    assert.deepEqual(out[0], ['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND']);
    const kinds = out.slice(1).map((r) => r[r.length - 1]).sort();
    assert.deepEqual(kinds, ['Deployment', 'Endpoints', 'Event', 'Lease', 'Namespace', 'Node', 'Pod', 'ReplicaSet', 'Service']);
  });

  it('create -f, then get nodes and pods -o wide with the server\'s columns', async () => {
    assert.equal(await kubectl.ok(['create', '-f', '-'], NODE), 'node/worker-1 created\n');
    assert.equal(await kubectl.ok(['create', '-f', '-'], pod('p1')), 'pod/p1 created\n');
    const again = await kubectl.run(['create', '-f', '-'], pod('p1'));
    assert.equal(again.code, 1);
    assert.match(again.stderr, /Error from server \(AlreadyExists\): error when creating "STDIN": pods "p1" already exists/);

    const nodes = rows(await kubectl.ok(['get', 'nodes', '-o', 'wide']));
    assert.deepEqual(nodes[0], ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION', 'INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME']);
    assert.deepEqual([nodes[1]![0], nodes[1]![1], nodes[1]![2], nodes[1]![4], nodes[1]![5], nodes[1]![7]], ['worker-1', 'Ready', 'worker', 'v1.32.0', '10.0.0.7', 'Debian']);
    const pods = rows(await kubectl.ok(['get', 'pods', '-o', 'wide']));
    assert.deepEqual(pods[0], ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES']);
    assert.deepEqual(pods[1]!.slice(0, 4), ['p1', '0/1', 'Pending', '0']);
    assert.equal((await kubectl.run(['get', 'pod', 'nope'])).stderr.trim(), 'Error from server (NotFound): pods "nope" not found');
  });

  it('create -f refuses a field the kind does not have (server-side strict validation)', async () => {
    const typo = await kubectl.run(['create', '-f', '-'], pod('typo').replace('image: busybox', 'imagee: busybox, image: busybox'));
    assert.equal(typo.code, 1);
    assert.match(typo.stderr, /strict decoding error: unknown field "spec.containers\[0\].imagee"/);
    assert.match((await kubectl.run(['get', 'pod', 'typo'])).stderr, /NotFound/);
  });

  it('apply -f creates, leaves an unchanged object alone, and patches a changed one', async () => {
    assert.equal(await kubectl.ok(['apply', '-f', '-'], deployment(2)), 'deployment.apps/web created\n');
    assert.equal(await kubectl.ok(['apply', '-f', '-'], deployment(2)), 'deployment.apps/web unchanged\n');
    assert.equal(await kubectl.ok(['apply', '-f', '-'], deployment(3)), 'deployment.apps/web configured\n');
    assert.equal(await kubectl.ok(['get', 'deployment', 'web', '-o', 'jsonpath={.spec.replicas} {.metadata.generation}']), '3 2');
    const table = rows(await kubectl.ok(['get', 'deploy', '-o', 'wide']));
    assert.deepEqual(table[0], ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE', 'CONTAINERS', 'IMAGES', 'SELECTOR']);
    assert.deepEqual([table[1]![0], table[1]![1], table[1]![6], table[1]![7]], ['web', '0/3', 'nginx:1.25', 'app=web']);
  });

  it('scale changes replicas through the scale subresource', async () => {
    assert.equal(await kubectl.ok(['scale', 'deployment', 'web', '--replicas=5']), 'deployment.apps/web scaled\n');
    assert.equal(await kubectl.ok(['get', 'deployment', 'web', '-o', 'jsonpath={.spec.replicas}']), '5');
    const stale = await kubectl.run(['scale', 'deployment', 'web', '--replicas=6', '--current-replicas=4']);
    assert.equal(stale.code, 1, 'the precondition on the current replicas fails');
  });

  it('label, cordon and uncordon', async () => {
    assert.equal(await kubectl.ok(['label', 'pod', 'p1', 'tier=fe']), 'pod/p1 labeled\n');
    assert.equal(await kubectl.ok(['get', 'pods', '-l', 'tier=fe', '-o', 'name']), 'pod/p1\n');
    assert.equal(await kubectl.ok(['label', 'pod', 'p1', 'tier-']), 'pod/p1 unlabeled\n');
    assert.equal(await kubectl.ok(['get', 'pod', 'p1', '-o', 'jsonpath={.metadata.labels}']), '{"app":"p1"}');
    assert.equal(await kubectl.ok(['cordon', 'worker-1']), 'node/worker-1 cordoned\n');
    assert.equal(rows(await kubectl.ok(['get', 'nodes']))[1]![1], 'Ready,SchedulingDisabled');
    assert.equal(await kubectl.ok(['uncordon', 'worker-1']), 'node/worker-1 uncordoned\n');
    assert.equal(rows(await kubectl.ok(['get', 'nodes']))[1]![1], 'Ready');
  });

  it('describe shows a pod from its object and its events', async () => {
    const out = await kubectl.ok(['describe', 'pod', 'p1']);
    assert.match(out, /^Name:\s+p1$/m);
    assert.match(out, /^Namespace:\s+default$/m);
    assert.match(out, /^Status:\s+Pending$/m);
    assert.match(out, /^\s+Image:\s+busybox$/m);
    assert.match(out, /^Events:\s+<none>$/m);
  });

  it('get -w prints each change as it happens', async () => {
    const watch = kubectl.start(['get', 'pods', '-w']);
    try {
      await eventually('the initial list', () => /^p1\s/m.test(watch.output()));
      await kubectl.ok(['create', '-f', '-'], pod('p2'));
      await eventually('p2 in the watch', () => /^p2\s+0\/1\s+Pending/m.test(watch.output()));
      await kubectl.ok(['label', 'pod', 'p2', 'seen=yes']);
      await eventually('a second p2 row for the change', () => (watch.output().match(/^p2\s/gm) ?? []).length >= 2);
    } finally {
      watch.process.kill('SIGTERM');
      await watch.exited;
    }
  });

  it('delete returns once the object is gone', async () => {
    assert.equal(await kubectl.ok(['delete', 'pod', 'p2']), 'pod "p2" deleted\n');
    const gone = await kubectl.run(['get', 'pod', 'p2']);
    assert.match(gone.stderr, /NotFound/);
    const twice = await kubectl.run(['delete', 'pod', 'p2']);
    assert.equal(twice.stderr.trim(), 'Error from server (NotFound): pods "p2" not found');
  });

  it('drain cordons the node and evicts its pods', async () => {
    await kubectl.ok(['create', '-f', '-'], pod('on-node').replace('spec:\n', 'spec:\n  nodeName: worker-1\n'));
    const out = await kubectl.ok(['drain', 'worker-1', '--force', '--grace-period=0', '--timeout=15s']);
    assert.match(out, /node\/worker-1 cordoned/);
    assert.match(out, /evicting pod default\/on-node|pod\/on-node evicted/);
    assert.match(out, /node\/worker-1 drained/);
    assert.match((await kubectl.run(['get', 'pod', 'on-node'])).stderr, /NotFound/);
    assert.equal(rows(await kubectl.ok(['get', 'nodes']))[1]![1], 'Ready,SchedulingDisabled');
    await kubectl.ok(['uncordon', 'worker-1']);
  });

  it('get lease -n kube-system shows the holder', async () => {
    const lease = 'apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: kube-scheduler, namespace: kube-system}\nspec: {holderIdentity: sched-1, leaseDurationSeconds: 15}\n';
    assert.equal(await kubectl.ok(['apply', '-f', '-'], lease), 'lease.coordination.k8s.io/kube-scheduler created\n');
    const out = rows(await kubectl.ok(['get', 'lease', '-n', 'kube-system']));
    assert.deepEqual(out[0], ['NAME', 'HOLDER', 'AGE']);
    assert.deepEqual(out[1]!.slice(0, 2), ['kube-scheduler', 'sched-1']);
  });

  it('replace with a stale resourceVersion loses to the writer before it with 409 Conflict', async () => {
    const stale = await kubectl.ok(['get', 'pod', 'p1', '-o', 'json']);
    await kubectl.ok(['label', 'pod', 'p1', 'first=writer']);
    const replaced = await kubectl.run(['replace', '-f', '-'], stale);
    assert.equal(replaced.code, 1);
    assert.match(replaced.stderr, /Error from server \(Conflict\): error when replacing "STDIN": Operation cannot be fulfilled on pods "p1": the object has been modified/);
    assert.equal(await kubectl.ok(['get', 'pod', 'p1', '-o', 'jsonpath={.metadata.labels.first}']), 'writer');
  });
});
