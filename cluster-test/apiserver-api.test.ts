import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdClient } from '../src/client/etcd-client';
import { eventually } from '../src/util/eventually';
import { call, openWatch, startApiServer, type TestApiServer } from './support/apiserver';
import { freePort, MemberKind, MemberProcess, startEtcd, startKeel } from './support/member-process';

/**
 * The apiserver's REST semantics over HTTP, on a Keel member and on a real etcd: it must behave
 * the same on both, as it only speaks the etcd v3 API.
 */
const PODS = '/api/v1/namespaces/default/pods';

function pod(name: string, labels: Record<string, string> = {}, extra: Record<string, unknown> = {}) {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { containers: [{ name: 'main', image: 'busybox' }], ...extra } };
}

for (const kind of ['keel', 'etcd'] as MemberKind[]) {
  describe(`apiserver REST on ${kind}`, function () {
    this.timeout(30_000);
    let dir: string;
    let member: MemberProcess;
    let api: TestApiServer;
    let base: string;
    let metricsUrl: string;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), `keel-apiserver-${kind}-`));
      metricsUrl = `http://127.0.0.1:${await freePort()}`;
      member = await (kind === 'keel' ? startKeel : startEtcd)({ baseDir: dir, extraArgs: ['--listen-metrics-urls', metricsUrl] });
      api = await startApiServer([member.endpoint]);
      base = api.url;
    });
    after(async () => {
      await api?.close();
      await member?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('creates with server-set metadata and defaults, and refuses a second create with 409 AlreadyExists', async () => {
      const created = await call(base, 'POST', PODS, { ...pod('c1'), status: { phase: 'Running' } });
      assert.equal(created.status, 201);
      const m = created.body.metadata;
      assert.match(m.uid, /^[0-9a-f-]{36}$/);
      assert.match(m.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(m.generation, 1);
      assert.equal(m.namespace, 'default');
      assert.equal(created.body.spec.restartPolicy, 'Always');
      assert.equal(created.body.status.phase, 'Pending');
      const got = await call(base, 'GET', `${PODS}/c1`);
      assert.equal(got.body.metadata.resourceVersion, m.resourceVersion, 'resourceVersion is the mod_revision');

      const again = await call(base, 'POST', PODS, pod('c1'));
      assert.equal(again.status, 409);
      assert.equal(again.body.reason, 'AlreadyExists');
      assert.equal(again.body.message, 'pods "c1" already exists');

      const generated = await call(base, 'POST', PODS, { ...pod(''), metadata: { generateName: 'gen-' } });
      assert.equal(generated.status, 201);
      assert.match(generated.body.metadata.name, /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    });

    it('answers errors as Status objects: 404, 400, 422, and a namespace that does not exist', async () => {
      const missing = await call(base, 'GET', `${PODS}/nope`);
      assert.deepEqual([missing.status, missing.body.kind, missing.body.reason, missing.body.message], [404, 'Status', 'NotFound', 'pods "nope" not found']);
      assert.equal((await call(base, 'POST', PODS, '{"metadata":')).status, 400);
      const bad = await call(base, 'POST', PODS, { metadata: { name: 'Bad_Name' }, spec: { containers: [] } });
      assert.equal(bad.status, 422);
      assert.deepEqual(bad.body.details.causes.map((c: { field: string }) => c.field), ['metadata.name', 'spec.containers']);
      assert.equal((await call(base, 'GET', `${PODS}?fieldSelector=spec.bogus%3Dx`)).status, 400);
      assert.equal((await call(base, 'POST', '/api/v1/namespaces/nowhere/pods', pod('x'))).status, 404);
      assert.equal((await call(base, 'GET', '/api/v1/widgets')).status, 404);
      const strict = await call(base, 'POST', `${PODS}?fieldValidation=Strict`, { ...pod('strict'), bogus: 1 });
      assert.deepEqual([strict.status, strict.body.message], [400, 'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "bogus"']);
      // A quantity that does not parse is refused by the decoder, before validation, as kube-apiserver does.
      const cannotParse = 'quantities must match the regular expression \'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$\'';
      const badCpu = await call(base, 'POST', PODS, pod('bad-cpu', {}, { containers: [{ name: 'main', image: 'busybox', resources: { requests: { cpu: 'two' } } }] }));
      assert.deepEqual([badCpu.status, badCpu.body.reason, badCpu.body.message], [400, 'BadRequest', `Pod in version "v1" cannot be handled as a Pod: ${cannotParse}`]);
      const template = { metadata: { labels: { app: 'q' } }, spec: { containers: [{ name: 'main', image: 'busybox', resources: { limits: { memory: '1 Gi' } } }] } };
      const badDeployment = await call(base, 'POST', '/apis/apps/v1/namespaces/default/deployments', { metadata: { name: 'bad-memory' }, spec: { selector: { matchLabels: { app: 'q' } }, template } });
      assert.deepEqual([badDeployment.status, badDeployment.body.message], [400, `Deployment in version "v1" cannot be handled as a Deployment: ${cannotParse}`]);
      assert.equal((await call(base, 'POST', PODS, pod('good-cpu'))).status, 201);
      const badPatch = await call(base, 'PATCH', `${PODS}/good-cpu`, [{ op: 'add', path: '/spec/containers/0/resources', value: { requests: { cpu: 'two' } } }], { 'Content-Type': 'application/json-patch+json' });
      assert.equal(badPatch.status, 400);
      const warned = await call(base, 'POST', PODS, { ...pod('warned'), bogus: 1 });
      assert.equal(warned.status, 201);
      assert.equal(warned.headers.warning, '299 - "unknown field \\"bogus\\""');
      assert.equal(warned.body.bogus, undefined, 'an unknown field is dropped, not stored');
      assert.equal((await call(base, 'GET', `${PODS}/nope`)).status, 404, 'a failed create left nothing behind');
    });

    it('guards updates by resourceVersion: of two writers racing from one read, one gets 409 Conflict', async () => {
      const { body: current } = await call(base, 'POST', PODS, pod('race'));
      const writers = ['a', 'b'].map((v) => call(base, 'PUT', `${PODS}/race`,
        { ...current, metadata: { ...current.metadata, labels: { writer: v } } }));
      const replies = await Promise.all(writers);
      assert.deepEqual(replies.map((r) => r.status).sort(), [200, 409]);
      const loser = replies.find((r) => r.status === 409)!;
      assert.equal(loser.body.reason, 'Conflict');
      assert.match(loser.body.message, /the object has been modified/);
      const winner = replies.find((r) => r.status === 200)!;
      const stored = await call(base, 'GET', `${PODS}/race`);
      assert.deepEqual(stored.body.metadata.labels, winner.body.metadata.labels);

      // Without a resourceVersion an update applies to whatever is stored; an unchanged one writes nothing.
      const { body: fresh } = await call(base, 'PUT', `${PODS}/race`, { ...current, metadata: { name: 'race', labels: { writer: 'c' } } });
      assert.equal(fresh.metadata.labels.writer, 'c');
      const same = await call(base, 'PUT', `${PODS}/race`, fresh);
      assert.equal(same.body.metadata.resourceVersion, fresh.metadata.resourceVersion);
      // Nor does one whose fields come in another order, as a Go client's struct order puts them.
      const reordered = Object.fromEntries(Object.entries(fresh).reverse());
      assert.equal((await call(base, 'PUT', `${PODS}/race`, reordered)).body.metadata.resourceVersion, fresh.metadata.resourceVersion);

      // Patches name no resourceVersion: however many race, none is refused and none is lost.
      const merge = { 'Content-Type': 'application/merge-patch+json' };
      const patches = await Promise.all(Array.from({ length: 20 }, (_, i) => call(base, 'PATCH', `${PODS}/race`, { metadata: { labels: { [`k${i}`]: 'v' } } }, merge)));
      assert.deepEqual(patches.filter((r) => r.status !== 200).map((r) => r.body.message), []);
      const labels = (await call(base, 'GET', `${PODS}/race`)).body.metadata.labels as Record<string, string>;
      assert.equal(Object.keys(labels).filter((k) => /^k\d+$/.test(k)).length, 20);
    });

    it('patches (merge, JSON, strategic) and keeps server fields and generation honest', async () => {
      const { body: d } = await call(base, 'POST', '/apis/apps/v1/namespaces/default/deployments', {
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
        spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1' }] } } },
      });
      const path = '/apis/apps/v1/namespaces/default/deployments/web';
      const labelled = await call(base, 'PATCH', path, { metadata: { labels: { a: 'b' }, uid: 'forged' } }, { 'Content-Type': 'application/merge-patch+json' });
      assert.deepEqual([labelled.status, labelled.body.metadata.labels, labelled.body.metadata.uid, labelled.body.metadata.generation], [200, { a: 'b' }, d.metadata.uid, 1]);
      const image = await call(base, 'PATCH', path, { spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:2' }] } } } },
        { 'Content-Type': 'application/strategic-merge-patch+json' });
      assert.equal(image.body.spec.template.spec.containers[0].image, 'nginx:2');
      assert.equal(image.body.metadata.generation, 2, 'a spec change moves generation');
      const json = await call(base, 'PATCH', path, [{ op: 'replace', path: '/spec/replicas', value: 2 }], { 'Content-Type': 'application/json-patch+json' });
      assert.equal(json.body.spec.replicas, 2);
      const immutable = await call(base, 'PATCH', path, { spec: { selector: { matchLabels: { app: 'other' } } } }, { 'Content-Type': 'application/merge-patch+json' });
      assert.equal(immutable.status, 422);

      const scale = await call(base, 'PATCH', `${path}/scale`, { spec: { replicas: 4 } }, { 'Content-Type': 'application/merge-patch+json' });
      assert.deepEqual([scale.body.kind, scale.body.spec.replicas, scale.body.status.selector], ['Scale', 4, 'app=web']);
      const staleScale = await call(base, 'PUT', `${path}/scale`, { ...scale.body, metadata: { ...scale.body.metadata, resourceVersion: d.metadata.resourceVersion } });
      assert.equal(staleScale.status, 409);

      // The main resource keeps the stored status; the status subresource changes nothing else.
      await call(base, 'PATCH', path, { status: { replicas: 9 } }, { 'Content-Type': 'application/merge-patch+json' });
      assert.equal((await call(base, 'GET', path)).body.status, undefined);
      const status = await call(base, 'PATCH', `${path}/status`, { status: { replicas: 4 }, spec: { replicas: 0 } }, { 'Content-Type': 'application/merge-patch+json' });
      assert.deepEqual([status.body.status.replicas, status.body.spec.replicas], [4, 4]);
    });

    it('binds a pod once, and deletes a bound pod gracefully', async () => {
      await call(base, 'POST', PODS, pod('bound'));
      const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'bound' }, target: { kind: 'Node', name: 'n1' } };
      assert.equal((await call(base, 'POST', `${PODS}/bound/binding`, binding)).status, 201);
      const second = await call(base, 'POST', `${PODS}/bound/binding`, { ...binding, target: { name: 'n2' } });
      assert.equal(second.status, 409);
      assert.equal((await call(base, 'GET', `${PODS}/bound`)).body.spec.nodeName, 'n1');

      const graceful = await call(base, 'DELETE', `${PODS}/bound`, {});
      assert.ok(graceful.body.metadata.deletionTimestamp, 'a pod on a node is marked, not removed');
      assert.equal(graceful.body.metadata.deletionGracePeriodSeconds, 30);
      assert.equal((await call(base, 'GET', `${PODS}/bound`)).status, 200);
      // A deletion under way is only hurried, never restarted or made longer.
      const again = await call(base, 'DELETE', `${PODS}/bound`, {});
      assert.deepEqual([again.status, again.body.metadata.resourceVersion], [200, graceful.body.metadata.resourceVersion]);
      const longer = await call(base, 'DELETE', `${PODS}/bound`, { gracePeriodSeconds: 60 });
      assert.equal(longer.body.metadata.deletionTimestamp, graceful.body.metadata.deletionTimestamp);
      const sooner = await call(base, 'DELETE', `${PODS}/bound`, { gracePeriodSeconds: 10 });
      assert.equal(sooner.body.metadata.deletionGracePeriodSeconds, 10);
      assert.equal(Date.parse(graceful.body.metadata.deletionTimestamp) - Date.parse(sooner.body.metadata.deletionTimestamp), 20_000);
      const stale = await call(base, 'DELETE', `${PODS}/bound`, { gracePeriodSeconds: 0, preconditions: { uid: 'someone-else' } });
      assert.equal(stale.status, 409);
      assert.equal((await call(base, 'DELETE', `${PODS}/bound`, { gracePeriodSeconds: 0 })).status, 200);
      assert.equal((await call(base, 'GET', `${PODS}/bound`)).status, 404);
    });

    it('deletes at once a pod that has ended or was never bound, whatever its grace period', async () => {
      for (const phase of ['Succeeded', 'Failed']) {
        const name = `ended-${phase.toLowerCase()}`;
        await call(base, 'POST', PODS, pod(name, {}, { nodeName: 'n1' }));
        const current = (await call(base, 'GET', `${PODS}/${name}`)).body;
        assert.equal((await call(base, 'PUT', `${PODS}/${name}/status`, { ...current, status: { phase } })).status, 200);
        assert.equal((await call(base, 'DELETE', `${PODS}/${name}`, { gracePeriodSeconds: 30 })).status, 200);
        assert.equal((await call(base, 'GET', `${PODS}/${name}`)).status, 404, `a ${phase} pod`);
      }
      await call(base, 'POST', PODS, pod('unbound'));
      assert.equal((await call(base, 'DELETE', `${PODS}/unbound`, { gracePeriodSeconds: 30 })).status, 200);
      assert.equal((await call(base, 'GET', `${PODS}/unbound`)).status, 404);
    });

    it('refuses a PUT whose metadata.uid is not the stored object\'s (one meant for an object deleted since)', async () => {
      const first = (await call(base, 'POST', PODS, pod('reborn'))).body;
      await call(base, 'DELETE', `${PODS}/reborn`);
      await call(base, 'POST', PODS, pod('reborn'));
      const { resourceVersion: _stale, ...meta } = first.metadata;
      const put = await call(base, 'PUT', `${PODS}/reborn`, { ...first, metadata: { ...meta, labels: { stale: 'yes' } } });
      assert.equal(put.status, 409);
      assert.match(put.body.message, /^Operation cannot be fulfilled on pods "reborn": Precondition failed: UID in precondition: /);
      assert.equal((await call(base, 'GET', `${PODS}/reborn`)).body.metadata.labels?.stale, undefined);
    });

    it('holds an object with finalizers until the last one is removed', async () => {
      const path = '/api/v1/namespaces/default/services';
      await call(base, 'POST', path, { metadata: { name: 'held', finalizers: ['example.com/a', 'example.com/b'] }, spec: { ports: [{ port: 80 }] } });
      const marked = await call(base, 'DELETE', `${path}/held`);
      assert.equal(marked.status, 200);
      assert.ok(marked.body.metadata.deletionTimestamp);
      const merge = { 'Content-Type': 'application/merge-patch+json' };
      const added = await call(base, 'PATCH', `${path}/held`, { metadata: { finalizers: ['example.com/a', 'example.com/b', 'example.com/c'] } }, merge);
      assert.deepEqual([added.status, added.body.details?.causes?.[0]?.field], [422, 'metadata.finalizers']);
      await call(base, 'PATCH', `${path}/held`, { metadata: { finalizers: ['example.com/b'] } }, merge);
      assert.equal((await call(base, 'GET', `${path}/held`)).status, 200, 'one finalizer left');
      await call(base, 'PATCH', `${path}/held`, { metadata: { finalizers: null } }, merge);
      assert.equal((await call(base, 'GET', `${path}/held`)).status, 404);
    });

    it('lists with label and field selectors, and pages with limit/continue over one snapshot', async () => {
      const ns = '/api/v1/namespaces/list-test';
      await call(base, 'POST', '/api/v1/namespaces', { metadata: { name: 'list-test' } });
      for (let i = 0; i < 5; i++) {
        await call(base, 'POST', `${ns}/pods`, pod(`p${i}`, { parity: i % 2 ? 'odd' : 'even' }, i === 1 ? { nodeName: 'n1' } : {}));
      }
      const names = (r: { body: { items: Array<{ metadata: { name: string } }> } }) => r.body.items.map((p) => p.metadata.name);
      assert.deepEqual(names(await call(base, 'GET', `${ns}/pods?labelSelector=parity%3Dodd`)), ['p1', 'p3']);
      assert.deepEqual(names(await call(base, 'GET', `${ns}/pods?fieldSelector=spec.nodeName%3Dn1`)), ['p1']);
      assert.deepEqual(names(await call(base, 'GET', `${ns}/pods?fieldSelector=metadata.name!%3Dp0,spec.nodeName%3D`)), ['p2', 'p3', 'p4']);

      const first = await call(base, 'GET', `${ns}/pods?limit=2&labelSelector=parity%3Deven`);
      assert.deepEqual(names(first), ['p0', 'p2']);
      assert.ok(first.body.metadata.continue);
      await call(base, 'POST', `${ns}/pods`, pod('p5', { parity: 'even' }));
      const rest = await call(base, 'GET', `${ns}/pods?limit=2&labelSelector=parity%3Deven&continue=${first.body.metadata.continue}`);
      assert.deepEqual(names(rest), ['p4'], 'p5 came after the snapshot');
      assert.equal(rest.body.metadata.continue, undefined);
      assert.equal(rest.body.metadata.resourceVersion, first.body.metadata.resourceVersion);
      assert.equal((await call(base, 'GET', `${ns}/pods?limit=2&continue=garbage`)).status, 400);
      // A token names a key within the list it continues: a forged one reaches no other namespace or kind.
      const forged = Buffer.from(JSON.stringify({ rv: first.body.metadata.resourceVersion, start: '/registry/' })).toString('base64url');
      const elsewhere = await call(base, 'GET', `${ns}/pods?limit=2&continue=${forged}`);
      assert.deepEqual(elsewhere.body.items.filter((o: { metadata: { namespace: string } }) => o.metadata.namespace !== 'list-test'), []);
      const exact = await call(base, 'GET', `${ns}/pods?resourceVersion=${first.body.metadata.resourceVersion}&resourceVersionMatch=Exact`);
      assert.deepEqual(names(exact), ['p0', 'p1', 'p2', 'p3', 'p4'], 'the list as it was at that resourceVersion');
      assert.equal((await call(base, 'GET', `${ns}/pods?resourceVersion=99999999&resourceVersionMatch=Exact`)).status, 504);
    });

    it('puts events under a store lease so they expire, and keeps it when they are updated', async () => {
      const path = '/api/v1/namespaces/default/events';
      const event = { metadata: { name: 'e1' }, involvedObject: { kind: 'Pod', name: 'c1', namespace: 'default' }, reason: 'Test', count: 1 };
      assert.equal((await call(base, 'POST', path, event)).status, 201);
      await call(base, 'PATCH', `${path}/e1`, { count: 2 }, { 'Content-Type': 'application/merge-patch+json' });
      const client = new EtcdClient(member.endpoint);
      try {
        const kv = (await client.range({ key: Buffer.from('/registry/events/default/e1') })).kvs[0]!;
        assert.equal(JSON.parse(kv.value.toString()).count, 2);
        assert.notEqual(kv.lease, '0', 'the event is under a lease');
        const ttl = Number((await client.leaseTimeToLive({ ID: kv.lease })).TTL);
        assert.ok(ttl > 3600 && ttl <= 3660, `TTL ${ttl}`);
      } finally {
        client.close();
      }
    });

    it('lists more objects than one store read holds, whole or in pages', async () => {
      await call(base, 'POST', '/api/v1/namespaces', { metadata: { name: 'many' } });
      const path = '/apis/coordination.k8s.io/v1/namespaces/many/leases';
      // 510 objects of ~9 KiB: more than gRPC's 4 MiB answer limit if read in one store range.
      const padding = { note: 'x'.repeat(9000) };
      let next = 0;
      await Promise.all(Array.from({ length: 16 }, async () => {
        while (next < 510) {
          assert.equal((await call(base, 'POST', path, { metadata: { name: `l${next++}`, annotations: padding }, spec: {} })).status, 201);
        }
      }));
      assert.equal((await call(base, 'GET', path)).body.items.length, 510);
      const first = await call(base, 'GET', `${path}?limit=505`);
      assert.equal(first.body.items.length, 505);
      const rest = await call(base, 'GET', `${path}?limit=505&continue=${first.body.metadata.continue}`);
      assert.equal(rest.body.items.length, 5);
      assert.equal(rest.body.metadata.continue, undefined);
    });

    it('deletes a namespace with everything in it, and refuses to delete the system ones', async () => {
      await call(base, 'POST', '/api/v1/namespaces', { metadata: { name: 'doomed' } });
      await call(base, 'POST', '/api/v1/namespaces/doomed/pods', pod('inside'));
      await call(base, 'POST', '/apis/coordination.k8s.io/v1/namespaces/doomed/leases', { metadata: { name: 'l' }, spec: {} });
      assert.equal((await call(base, 'DELETE', '/api/v1/namespaces/doomed')).status, 200);
      assert.equal((await call(base, 'GET', '/api/v1/namespaces/doomed/pods/inside')).status, 404);
      assert.equal((await call(base, 'GET', '/apis/coordination.k8s.io/v1/namespaces/doomed/leases/l')).status, 404);
      assert.equal((await call(base, 'POST', '/api/v1/namespaces/doomed/pods', pod('late'))).status, 404);
      const system = await call(base, 'DELETE', '/api/v1/namespaces/kube-system');
      assert.deepEqual([system.status, system.body.reason], [403, 'Forbidden']);
    });

    it('watches from a resourceVersion: ADDED, MODIFIED, DELETED in order, selectors on both sides of a change', async () => {
      const list = await call(base, 'GET', PODS);
      const from = list.body.metadata.resourceVersion;
      const all = await openWatch(base, `${PODS}?watch=true&resourceVersion=${from}`);
      const blue = await openWatch(base, `${PODS}?watch=true&resourceVersion=${from}&labelSelector=color%3Dblue`);
      try {
        const { body: w } = await call(base, 'POST', PODS, pod('w1', { color: 'red' }));
        await call(base, 'PATCH', `${PODS}/w1`, { metadata: { labels: { color: 'blue' } } }, { 'Content-Type': 'application/merge-patch+json' });
        await call(base, 'PATCH', `${PODS}/w1`, { metadata: { labels: { color: 'green' } } }, { 'Content-Type': 'application/merge-patch+json' });
        await call(base, 'DELETE', `${PODS}/w1`);
        await eventually('all four events', () => all.events.length >= 4 && blue.events.length >= 2);
        assert.deepEqual(all.events.map((e) => e.type), ['ADDED', 'MODIFIED', 'MODIFIED', 'DELETED']);
        assert.equal(all.events[0]!.object.metadata.resourceVersion, w.metadata.resourceVersion);
        const revs = all.events.map((e) => BigInt(e.object.metadata.resourceVersion));
        assert.ok(revs.every((r, i) => i === 0 || r > revs[i - 1]!), 'each event carries a later resourceVersion');
        // An object that stops matching leaves as it last matched, at the change's resourceVersion.
        assert.deepEqual(blue.events.map((e) => [e.type, e.object.metadata.labels.color]), [['ADDED', 'blue'], ['DELETED', 'blue']]);
        assert.equal(blue.events[1]!.object.metadata.resourceVersion, all.events[2]!.object.metadata.resourceVersion);

        // A watcher starting later, from the same revision, gets the same events from the shared store watch.
        const late = await openWatch(base, `${PODS}?watch=true&resourceVersion=${from}`);
        await eventually('the late watcher catches up', () => late.events.length >= 4);
        assert.deepEqual(late.events, all.events);
        late.close();
      } finally {
        all.close();
        blue.close();
      }
    });

    it('fans many watchers out from one store watch per resource', async () => {
      const storeWatchers = async () => {
        const text = await (await fetch(`${metricsUrl}/metrics`)).text();
        return Number(/^etcd_debugging_mvcc_watcher_total (\d+)/m.exec(text)![1]);
      };
      const path = '/api/v1/namespaces/default/endpoints?watch=true&resourceVersion=1';
      const watches = [await openWatch(base, path)];
      try {
        await eventually('the first watcher\'s store watch', async () => (await storeWatchers()) >= 1);
        const withOne = await storeWatchers();
        for (let i = 1; i < 20; i++) watches.push(await openWatch(base, path));
        await call(base, 'POST', '/api/v1/namespaces/default/endpoints', { metadata: { name: 'fan' } });
        await eventually('every watcher sees the endpoints', () => watches.every((w) => w.events.length === 1));
        assert.ok((await storeWatchers()) <= withOne, `20 HTTP watchers cost ${await storeWatchers()} store watchers, one cost ${withOne}`);
      } finally {
        for (const w of watches) w.close();
      }
    });

    it('watches one object by its path', async () => {
      const { body: c1 } = await call(base, 'GET', `${PODS}/c1`);
      const w = await openWatch(base, `${PODS}/c1?watch=true&resourceVersion=${c1.metadata.resourceVersion}`);
      try {
        const merge = { 'Content-Type': 'application/merge-patch+json' };
        await call(base, 'PATCH', `${PODS}/race`, { metadata: { labels: { other: 'x' } } }, merge);
        await call(base, 'PATCH', `${PODS}/c1`, { metadata: { labels: { mine: 'y' } } }, merge);
        await eventually('c1 modified', () => w.events.length >= 1);
        assert.deepEqual(w.events.map((e) => `${e.type} ${e.object.metadata.name}`), ['MODIFIED c1']);
      } finally {
        w.close();
      }
    });

    it('starts a watch without resourceVersion with the current objects, and ends it at timeoutSeconds with a BOOKMARK', async () => {
      const w = await openWatch(base, `${PODS}?watch=true&fieldSelector=metadata.name%3Dc1&timeoutSeconds=1&allowWatchBookmarks=true`);
      await w.ended;
      assert.deepEqual(w.events.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'c1'], ['BOOKMARK', undefined]]);
      assert.ok(w.events[1]!.object.metadata.resourceVersion);
      // The same by the object's path: that object only, not the rest of its namespace.
      const byPath = await openWatch(base, `${PODS}/c1?watch=true&timeoutSeconds=1`);
      await byPath.ended;
      assert.deepEqual(byPath.events.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'c1']]);
    });

    it('answers a watch from a compacted revision with ERROR 410 Expired', async () => {
      const { body: before } = await call(base, 'GET', PODS);
      await call(base, 'POST', PODS, pod('compact-me'));
      const { body: after } = await call(base, 'GET', PODS);
      const client = new EtcdClient(member.endpoint);
      try {
        await client.compact({ revision: after.metadata.resourceVersion, physical: true });
      } finally {
        client.close();
      }
      const w = await openWatch(base, `/api/v1/namespaces/default/events?watch=true&resourceVersion=${Number(before.metadata.resourceVersion) - 1}`);
      await w.ended;
      assert.equal(w.events.length, 1);
      assert.deepEqual([w.events[0]!.type, w.events[0]!.object.code, w.events[0]!.object.reason], ['ERROR', 410, 'Expired']);
    });

    it('serves health, metrics and discovery', async () => {
      for (const path of ['/healthz', '/livez', '/readyz']) assert.equal((await call(base, 'GET', path)).body, 'ok');
      const metrics = await call(base, 'GET', '/metrics');
      assert.match(metrics.body, /apiserver_request_total\{verb="create",resource="pods",subresource="",code="201"\} \d+/);
      assert.match(metrics.body, /apiserver_request_duration_seconds_count\{verb="list",resource="pods",subresource=""\} \d+/);
      assert.equal((await call(base, 'GET', '/version')).body.minor, '32');
      const apps = await call(base, 'GET', '/apis/apps/v1');
      assert.deepEqual(apps.body.resources.map((r: { name: string }) => r.name),
        ['replicasets', 'replicasets/status', 'replicasets/scale', 'deployments', 'deployments/status', 'deployments/scale']);
    });
  });
}
