import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdClient } from '../src/client/etcd-client';
import { EtcdEndpoints } from '../src/controlplane/apiserver/etcd-endpoints';
import { ApiServer } from '../src/controlplane/apiserver/http-server';
import { apiPath, SERVICES } from '../src/controlplane/kube-client/api-path';
import { isConflict, isNotFound } from '../src/controlplane/kube-client/kube-api-error';
import { KubeClient } from '../src/controlplane/kube-client/kube-client';
import { Informer } from '../src/controlplane/kube-client/informer';
import { eventually } from '../src/util/eventually';
import { startFreezableRelay } from './support/freezable-relay';
import { freePort, startCluster, type ClusterProcesses } from './support/member-process';

/** An apiserver on a fixed loopback port, so a test can stop it and bring it back at the same URL. */
class Replica {
  private server: ApiServer | undefined;
  private etcd: EtcdEndpoints | undefined;
  constructor(readonly port: number, private readonly endpoints: string[]) {}
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    this.etcd = new EtcdEndpoints(this.endpoints);
    this.server = new ApiServer(this.etcd);
    await this.server.listen('127.0.0.1', this.port);
  }
  async stop(): Promise<void> {
    await this.server?.close();
    this.etcd?.close();
    this.server = undefined;
  }
}

const service = (name: string, port = 80) => ({ metadata: { name }, spec: { ports: [{ port }] } });

describe('the control plane\'s apiserver client (kube-client)', function () {
  this.timeout(30_000);
  let dir: string;
  let cluster: ClusterProcesses;
  let a: Replica;
  let b: Replica;
  const SVC = apiPath(SERVICES, { namespace: 'default' });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-kube-client-'));
    cluster = await startCluster('keel', dir, 1);
    a = new Replica(await freePort(), cluster.endpoints);
    b = new Replica(await freePort(), cluster.endpoints);
    await Promise.all([a.start(), b.start()]);
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('creates, reads, updates with optimistic concurrency, patches and deletes', async () => {
    const c = new KubeClient([a.url]);
    try {
      const created = await c.create(SVC, service('crud'));
      const path = apiPath(SERVICES, { namespace: 'default', name: 'crud' });
      assert.equal((await c.get(path)).metadata.uid, created.metadata.uid);
      const updated = await c.update(path, { ...created, spec: { ports: [{ port: 81 }] } });
      await assert.rejects(c.update(path, { ...created, spec: { ports: [{ port: 82 }] } }), isConflict);
      const patched = await c.patch(path, { metadata: { labels: { tier: 'web' } } });
      assert.deepEqual([patched.spec.ports[0].port, patched.metadata.labels], [81, { tier: 'web' }]);
      assert.notEqual(patched.metadata.resourceVersion, updated.metadata.resourceVersion);
      await c.delete(path);
      await assert.rejects(c.get(path), isNotFound);
    } finally {
      c.close();
    }
  });

  it('sends DeleteOptions with a DELETE, so a uid precondition is checked', async () => {
    const c = new KubeClient([a.url]);
    const path = apiPath(SERVICES, { namespace: 'default', name: 'guarded' });
    try {
      const created = await c.create(SVC, service('guarded'));
      await assert.rejects(c.delete(path, { preconditions: { uid: 'not-its-uid' } }), isConflict);
      assert.equal((await c.get(path)).metadata.uid, created.metadata.uid);
      await c.delete(path, { preconditions: { uid: created.metadata.uid }, propagationPolicy: 'Background' });
      await assert.rejects(c.get(path), isNotFound);
    } finally {
      c.close();
    }
  });

  it('moves on to the next apiserver when one cannot be reached, and stays there', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const c = new KubeClient([dead, b.url]);
    try {
      await c.create(SVC, service('failover'));
      assert.equal(c.server, b.url);
      assert.equal((await c.list(SVC)).items.filter((s) => s.metadata.name === 'failover').length, 1);
    } finally {
      c.close();
    }
  });

  it('ends a watch its apiserver has gone silent on, and watches on at the next apiserver', async () => {
    const frozen = await startFreezableRelay(a.port);
    const c = new KubeClient([frozen.url, b.url], { requestTimeoutMs: 500, minWatchTimeoutSeconds: 1 });
    const seen: string[] = [];
    const informer = new Informer(c, SVC, { added: (o) => seen.push(o.metadata.name) }, { retryMs: 50, maxRetryMs: 200 });
    const writer = new KubeClient([b.url]);
    try {
      informer.start();
      await informer.hasSynced();
      await writer.create(SVC, service('before-freeze'));
      await eventually('the watch through the relay is open', () => seen.includes('before-freeze'));
      assert.equal(c.server, frozen.url);
      frozen.freeze(); // its open watch now hears nothing, and nothing says it has ended
      await writer.create(SVC, service('after-freeze'));
      await eventually('the informer saw the service through the other apiserver', () => seen.includes('after-freeze'));
      assert.equal(c.server, b.url);
    } finally {
      informer.stop();
      c.close();
      writer.close();
      await frozen.close();
    }
  });

  it('keeps an informer current through a lost apiserver and a compaction of what it missed', async () => {
    const c = new KubeClient([a.url], { requestTimeoutMs: 2000 });
    const seen: string[] = [];
    const informer = new Informer(c, SVC, {
      added: (o) => seen.push(`added ${o.metadata.name}`),
      updated: (o) => seen.push(`updated ${o.metadata.name} ${o.spec.ports[0].port}`),
      deleted: (o) => seen.push(`deleted ${o.metadata.name}`),
    }, { retryMs: 50, maxRetryMs: 200 });
    const writer = new KubeClient([b.url]);
    const store = new EtcdClient(cluster.endpoints[0]!);
    try {
      for (const s of (await writer.list(SVC)).items) await writer.delete(apiPath(SERVICES, { namespace: 'default', name: s.metadata.name }));
      await writer.create(SVC, service('s1'));
      informer.start();
      await informer.hasSynced();
      assert.deepEqual(informer.list().map((o) => o.metadata.name), ['s1']);
      const s2 = await writer.create(SVC, service('s2'));
      await writer.update(apiPath(SERVICES, { namespace: 'default', name: 's2' }), { ...s2, spec: { ports: [{ port: 8080 }] } });
      await eventually('s2 and its update seen', () => seen.length === 3);

      await a.stop(); // the informer's only apiserver: its watch ends and it retries
      await writer.delete(apiPath(SERVICES, { namespace: 'default', name: 's1' }));
      await writer.create(SVC, service('s3'));
      const { header } = await store.range({ key: Buffer.from('/') });
      await store.compact({ revision: header!.revision, physical: true }); // what the informer missed is gone
      await a.start();

      await eventually('the informer listed again', () => seen.length === 5);
      assert.deepEqual(seen, ['added s1', 'added s2', 'updated s2 8080', 'added s3', 'deleted s1']);
      assert.deepEqual(informer.list().map((o) => o.metadata.name).sort(), ['s2', 's3']);
      await writer.create(SVC, service('s4'));
      await eventually('s4 seen on the resumed watch', () => seen.length === 6);
      assert.equal(seen[5], 'added s4');
    } finally {
      informer.stop();
      c.close();
      writer.close();
      store.close();
    }
  });
});
