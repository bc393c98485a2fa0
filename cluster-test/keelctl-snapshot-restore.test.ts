import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdClient } from '../src/client/etcd-client';
import { keelctl } from './support/etcdctl';
import { distinctPorts, MemberProcess, startKeel, waitForLeader } from './support/member-process';

const ALL = { key: Buffer.from([0]), range_end: Buffer.from([0]) };

/** What a range shows of each key: everything the snapshot must carry over unchanged. */
async function keysWithRevisions(client: EtcdClient, serializable = false) {
  const res = await client.range({ ...ALL, serializable });
  return {
    revision: res.header!.revision,
    kvs: res.kvs.map((kv) => ({
      key: kv.key.toString(), value: kv.value.toString(), create: kv.create_revision, mod: kv.mod_revision, version: kv.version,
    })),
  };
}

describe('keelctl snapshot save, then snapshot restore into a new three-member cluster', function () {
  this.timeout(60_000);
  let dir: string;
  const members: MemberProcess[] = [];
  const clients: EtcdClient[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-restore-cluster-'));
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(members.splice(0).map((m) => m.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  function client(endpoint: string): EtcdClient {
    const c = new EtcdClient(endpoint);
    clients.push(c);
    return c;
  }

  it('starts with the same keys, revisions and compaction, and goes on from the saved revision', async () => {
    const source = await startKeel({ name: 'src', baseDir: join(dir, 'source') });
    members.push(source);
    const src = client(source.endpoint);
    const put = (k: string, v: string) => src.put({ key: Buffer.from(k), value: Buffer.from(v) });
    await put('a', '1');
    await put('b', '1');
    await put('a', '2');
    await src.deleteRange({ key: Buffer.from('b') });
    await put('c', '1');
    await src.compact({ revision: 4, physical: true });
    await put('a', '3');
    const before = await keysWithRevisions(src);

    const snap = join(dir, 'snap.db');
    const saved = await keelctl(source.endpoint, ['snapshot', 'save', snap]);
    assert.equal(saved.code, 0, saved.stderr);
    assert.equal(saved.stdout, `Snapshot saved at ${snap}\n`);

    const names = ['r1', 'r2', 'r3'];
    const ports = await distinctPorts(names.length);
    const initialCluster = names.map((n, i) => `${n}=http://127.0.0.1:${ports[i]!.peer}`).join(',');
    const baseDir = join(dir, 'restored');
    for (const [i, name] of names.entries()) {
      const restored = await keelctl(source.endpoint, [
        'snapshot', 'restore', snap, '--name', name, '--data-dir', join(baseDir, `${name}.data`),
        '--initial-cluster', initialCluster, '--initial-cluster-token', 'restored',
        '--initial-advertise-peer-urls', `http://127.0.0.1:${ports[i]!.peer}`,
      ]);
      assert.equal(restored.code, 0, restored.stderr);
      assert.match(restored.stderr, /restored snapshot/);
    }
    const again = await keelctl(source.endpoint, ['snapshot', 'restore', snap, '--name', 'r1', '--data-dir', join(baseDir, 'r1.data')]);
    assert.deepEqual([again.code, again.stderr.trim()], [1, `Error: data-dir "${join(baseDir, 'r1.data')}" exists`]);

    await source.stop();
    const restored = await Promise.all(names.map((name, i) => startKeel({
      name, baseDir, clientPort: ports[i]!.client, peerPort: ports[i]!.peer, initialCluster,
    })));
    members.push(...restored);
    await waitForLeader(restored.map((m) => m.endpoint));

    const first = client(restored[0]!.endpoint);
    assert.deepEqual(await keysWithRevisions(first), before);
    await assert.rejects(first.range({ ...ALL, revision: 3 }), /required revision has been compacted/);
    const next = await first.put({ key: Buffer.from('d'), value: Buffer.from('1') });
    assert.equal(BigInt(next.header!.revision), BigInt(before.revision) + 1n);
    const members3 = await first.memberList();
    assert.deepEqual(members3.members.map((m) => m.name).sort(), names);
  });
});
