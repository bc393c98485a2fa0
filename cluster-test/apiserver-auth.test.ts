import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiPath, LEASES, NODES, PODS } from '../src/controlplane/kube-client/api-path';
import { KubeApiError } from '../src/controlplane/kube-client/kube-api-error';
import { KubeClient } from '../src/controlplane/kube-client/kube-client';
import { startComponentProcess, type ComponentProcess } from './support/component-process';
import { Kubectl } from './support/kubectl';
import { startKeel, type MemberProcess } from './support/member-process';
import { TestCa, type CertFiles } from './support/test-ca';

const pod = (name: string, nodeName?: string) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'none' }] },
});
const deployment = (name: string) => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
  spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'none' }] } } },
});
const policy = (spec: object) => JSON.stringify({ apiVersion: 'abac.authorization.kubernetes.io/v1beta1', kind: 'Policy', spec });

/**
 * keel-apiserver over HTTPS with kube-apiserver's authentication (a token file, client
 * certificates) and authorization (system:masters, Node, ABAC), driven by the real kubectl.
 */
describe('apiserver authentication and authorization (HTTPS, tokens, client certificates, Node and ABAC)', function () {
  this.timeout(60_000);
  let dir: string;
  let member: MemberProcess;
  let api: ComponentProcess;
  let url: string;
  let ca: TestCa;
  let kubectl: Kubectl;
  const certs: Record<string, CertFiles> = {};

  /** kubectl as one identity: a token, a client certificate, or nothing. */
  const as = (who: { token?: string; cert?: string }) => async (...args: Array<string | object>) => {
    const creds = who.token !== undefined ? ['--token', who.token]
      : who.cert !== undefined ? ['--client-certificate', certs[who.cert]!.cert, '--client-key', certs[who.cert]!.key] : [];
    // `create -f -` reads the object from stdin: kubectl's generators (create namespace, run) send protobuf.
    const [stdin, rest] = typeof args[args.length - 1] === 'object' ? [JSON.stringify(args[args.length - 1]), args.slice(0, -1)] : [undefined, args];
    return kubectl.run(['--certificate-authority', ca.cert, ...creds, ...(rest as string[])], stdin);
  };
  const admin = as({ token: 'admin-token' });
  const client = (cert: string) => new KubeClient([url], { ca: readFileSync(ca.cert), cert: readFileSync(certs[cert]!.cert), key: readFileSync(certs[cert]!.key) });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-apiserver-auth-'));
    ca = new TestCa(dir);
    const serving = ca.issue('apiserver', 'keel-apiserver');
    certs.alice = ca.issue('alice', 'alice', ['devs']);
    certs.worker1 = ca.issue('worker1', 'system:node:worker1', ['system:nodes']);
    await writeFile(join(dir, 'tokens.csv'), 'admin-token,admin,1,"system:masters"\nview-token,viewer,2\n');
    await writeFile(join(dir, 'policy.jsonl'), [
      policy({ user: 'viewer', namespace: '*', resource: '*', apiGroup: '*', readonly: true }),
      policy({ group: 'devs', namespace: 'team-a', resource: '*', apiGroup: '*' }),
    ].join('\n'));
    member = await startKeel({ baseDir: dir });
    api = await startComponentProcess('keel-apiserver', [
      '--etcd-servers', member.endpoint, '--listen-address', '127.0.0.1:0',
      '--tls-cert-file', serving.cert, '--tls-private-key-file', serving.key, '--client-ca-file', ca.cert,
      '--token-auth-file', join(dir, 'tokens.csv'), '--no-anonymous-auth',
      '--authorization-mode', 'Node,ABAC', '--authorization-policy-file', join(dir, 'policy.jsonl'),
    ], /listening on (https:\/\/\S+)/);
    url = api.ready[1]!;
    kubectl = await Kubectl.forServer(dir, url);
    const ns = await admin('create', '-f', '-', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
    assert.equal(ns.code, 0, ns.stderr);
  });
  after(async () => {
    await api?.stop();
    await member?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lets the system:masters token do anything', async () => {
    const r = await admin('create', '-f', '-', deployment('web'));
    assert.equal(r.code, 0, r.stderr);
    assert.match((await admin('get', 'deployments')).stdout, /web/);
  });

  it('answers 401 to a token it does not know, and to no credentials at all', async () => {
    const r = await as({ token: 'wrong' })('get', 'pods');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /You must be logged in to the server \(Unauthorized\)/);
    // (kubectl with no credentials at all prompts for a username on a 401, so a plain client asks.)
    const anonymous = new KubeClient([url], { ca: readFileSync(ca.cert) });
    try {
      await assert.rejects(anonymous.list(apiPath(PODS, { namespace: 'default' })), (err: KubeApiError) => err.code === 401 && err.reason === 'Unauthorized');
    } finally {
      anonymous.close();
    }
  });

  it('lets a read-only ABAC user read and refuses its writes with 403', async () => {
    const viewer = as({ token: 'view-token' });
    assert.match((await viewer('get', 'deployments')).stdout, /web/);
    const r = await viewer('create', '-f', '-', deployment('other'));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error from server \(Forbidden\): .*deployments.apps is forbidden: User "viewer" cannot create resource "deployments" in API group "apps" in the namespace "default"/);
  });

  it('takes a client certificate\'s CN as the user and its O as groups', async () => {
    const alice = as({ cert: 'alice' });
    const inTeam = await alice('-n', 'team-a', 'create', '-f', '-', pod('p1'));
    assert.equal(inTeam.code, 0, inTeam.stderr);
    const outside = await alice('-n', 'default', 'create', '-f', '-', pod('p2'));
    assert.match(outside.stderr, /pods is forbidden: User "alice" cannot create resource "pods" in API group "" in the namespace "default"/);
  });

  it('lets a kubelet write its own Node, Lease and pods, and nothing of another node', async () => {
    const kubelet = client('worker1');
    const root = new KubeClient([url], { ca: readFileSync(ca.cert), token: 'admin-token' });
    try {
      await root.create(apiPath(NODES), { metadata: { name: 'worker2' } });
      await kubelet.create(apiPath(NODES), { metadata: { name: 'worker1' } });
      await assert.rejects(kubelet.patch(apiPath(NODES, { name: 'worker2' }), { metadata: { labels: { x: 'y' } } }), (err: KubeApiError) =>
        err.code === 403 && /node "worker1" is not allowed to modify node "worker2"/.test(err.message));
      await kubelet.patch(apiPath(NODES, { name: 'worker1', subresource: 'status' }), { status: { phase: 'Running' } });

      await kubelet.create(apiPath(LEASES, { namespace: 'kube-node-lease' }), { metadata: { name: 'worker1' }, spec: { holderIdentity: 'worker1' } });
      await assert.rejects(kubelet.create(apiPath(LEASES, { namespace: 'kube-node-lease' }), { metadata: { name: 'worker2' } }), (err: KubeApiError) => err.code === 403);

      const label = await as({ cert: 'worker1' })('label', 'node', 'worker1', 'seen=yes');
      assert.equal(label.code, 0, label.stderr);
      const other = await as({ cert: 'worker1' })('label', 'node', 'worker2', 'seen=yes');
      assert.match(other.stderr, /nodes "worker2" is forbidden: User "system:node:worker1" cannot patch resource "nodes" .*node "worker1" is not allowed to modify node "worker2"/);

      for (const [name, node] of [['on1', 'worker1'], ['on2', 'worker2']]) {
        const r = await admin('create', '-f', '-', pod(name!, node));
        assert.equal(r.code, 0, r.stderr);
      }
      await kubelet.patch(apiPath(PODS, { namespace: 'default', name: 'on1', subresource: 'status' }), { status: { phase: 'Running' } });
      await assert.rejects(kubelet.patch(apiPath(PODS, { namespace: 'default', name: 'on2', subresource: 'status' }), { status: { phase: 'Running' } }),
        (err: KubeApiError) => err.code === 403 && /can only patch pods bound to it/.test(err.message));
      await assert.rejects(kubelet.create(apiPath(PODS, { namespace: 'default' }), { metadata: { name: 'sneaky' }, spec: { nodeName: 'worker1', containers: [{ name: 'c', image: 'x' }] } }),
        (err: KubeApiError) => err.code === 403 && /can only create mirror pods/.test(err.message));
    } finally {
      kubelet.close();
      root.close();
    }
  });
});
