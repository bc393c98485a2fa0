import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../src/util/eventually';
import { call, openWatch, startApiServer, type TestApiServer, type WatchStream } from './support/apiserver';
import { startCluster, type ClusterProcesses } from './support/member-process';

/**
 * Two apiserver replicas on a three-member Keel cluster: a watch goes on through the loss of the
 * member its replica reads from, and a client whose replica goes resumes on the other one from its
 * last resourceVersion, missing and repeating nothing.
 */
describe('apiserver replicas through failures', function () {
  this.timeout(30_000);
  let dir: string;
  let cluster: ClusterProcesses;
  let a: TestApiServer;
  let b: TestApiServer;
  const CMS = '/api/v1/namespaces/default/services';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-apiserver-failover-'));
    cluster = await startCluster('keel', dir, 3);
    const [m1, m2, m3] = cluster.endpoints as [string, string, string];
    a = await startApiServer([m1, m2, m3]);
    b = await startApiServer([m2, m3, m1]);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const create = async (name: string) => {
    // A write may meet the election that follows a member's loss: the apiserver answers 503 then.
    let reply = await call(b.url, 'POST', CMS, { metadata: { name }, spec: { ports: [{ port: 80 }] } });
    await eventually(`service ${name} created`, async () => {
      if (reply.status === 201 || reply.status === 409) return true;
      reply = await call(b.url, 'POST', CMS, { metadata: { name }, spec: { ports: [{ port: 80 }] } });
      return reply.status === 201;
    });
  };
  const names = (w: WatchStream) => w.events.map((e) => `${e.type} ${e.object.metadata.name}`);

  it('keeps a watch going when its member dies, and resumes it on another replica from the last resourceVersion', async () => {
    const from = (await call(a.url, 'GET', CMS)).body.metadata.resourceVersion;
    const first = await openWatch(a.url, `${CMS}?watch=true&resourceVersion=${from}`);
    await create('s1');
    await eventually('s1 on the watch', () => first.events.length === 1);

    await cluster.members[0]!.kill9(); // the member replica A reads from
    await create('s2');
    await eventually('s2 on the watch after the member loss', () => first.events.length === 2, 20_000);

    await a.close(); // replica A goes: its watchers are cut off
    await first.ended;
    const last = first.events[first.events.length - 1]!.object.metadata.resourceVersion;
    await create('s3');
    const resumed = await openWatch(b.url, `${CMS}?watch=true&resourceVersion=${last}`);
    try {
      await eventually('s3 on the resumed watch', () => resumed.events.length >= 1);
      assert.deepEqual([...names(first), ...names(resumed)], ['ADDED s1', 'ADDED s2', 'ADDED s3']);
    } finally {
      resumed.close();
    }
  });
});
