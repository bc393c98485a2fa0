import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failure, InProcessMember, startInProcessMember, startInProcessMemberIn } from '../cmd/in-process-member';
import { eventually } from '../util/eventually';
import { silentLogger } from '../util/logger';
import { ConfigError } from './errors';
import { sha256, snapshotContents } from './snapshot-file';
import { restoreSnapshot, RestoreOptions } from './snapshot-restore';

const ALL = { key: Buffer.from([0]), range_end: Buffer.from([0]) };

describe('restoreSnapshot (etcdutl snapshot restore)', function () {
  this.timeout(60_000);
  let dir: string;
  const members: InProcessMember[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-restore-'));
  });
  afterEach(async () => {
    await Promise.all(members.splice(0).map((m) => m.close()));
    await rm(dir, { recursive: true, force: true });
  });

  async function started(m: Promise<InProcessMember>): Promise<InProcessMember> {
    const member = await m;
    members.push(member);
    await eventually('a leader', () => member.server.leader !== 0n);
    return member;
  }

  /** A saved snapshot of a member with history: overwrites, a delete, a compaction. */
  async function savedSnapshot(): Promise<{ source: InProcessMember; path: string }> {
    const source = await started(startInProcessMember());
    const put = (k: string, v: string) => source.client.put({ key: Buffer.from(k), value: Buffer.from(v) });
    await put('a', '1');
    await put('b', '1');
    await put('a', '2');
    await source.client.deleteRange({ key: Buffer.from('b') });
    await put('c', '1');
    await source.client.compact({ revision: 4, physical: true });
    await put('a', '3');
    const contents = snapshotContents(await source.server.snapshot());
    const path = join(dir, 'snap.db');
    await writeFile(path, Buffer.concat([contents, sha256(contents)]));
    return { source, path };
  }

  const options = (path: string, dataDir: string): RestoreOptions => ({
    snapshotPath: path, dataDir, name: 'restored', initialCluster: 'restored=http://127.0.0.1:2390',
    initialClusterToken: 'restored-cluster', initialAdvertisePeerUrls: ['http://127.0.0.1:2390'], skipHashCheck: false,
  });

  it('creates a data dir from which a new cluster starts with the same keys and revisions', async () => {
    const { source, path } = await savedSnapshot();
    const before = await source.client.range(ALL);
    const dataDir = join(dir, 'restored.keel');
    await restoreSnapshot(options(path, dataDir), silentLogger);
    const restored = await started(startInProcessMemberIn(dataDir, {
      name: 'restored', initialCluster: 'ignored=http://127.0.0.1:1', initialAdvertisePeerUrls: ['http://127.0.0.1:1'],
    }));
    const after = await restored.client.range(ALL);
    assert.deepEqual(after.kvs, before.kvs);
    assert.equal(after.header!.revision, before.header!.revision);
    assert.notEqual(restored.server.clusterId, source.server.clusterId);
    assert.notEqual(restored.server.memberId, source.server.memberId);
    assert.deepEqual(restored.server.members().map((m) => [m.name, m.peerURLs]), [['restored', ['http://127.0.0.1:2390']]]);
    assert.deepEqual(await failure(restored.client.range({ key: Buffer.from('a'), revision: 3 })),
      { code: status.OUT_OF_RANGE, details: 'etcdserver: mvcc: required revision has been compacted' });
    assert.equal((await restored.client.range({ key: Buffer.from('a'), revision: 5 })).kvs[0]!.value.toString(), '2');
    const next = await restored.client.put({ key: Buffer.from('d'), value: Buffer.from('1') });
    assert.equal(Number(next.header!.revision), Number(before.header!.revision) + 1);
  });

  it('refuses a corrupted snapshot unless told to skip the hash check, and an existing data dir', async () => {
    const { path } = await savedSnapshot();
    const bytes = await readFile(path);
    bytes.writeUInt8(bytes.readUInt8(100) ^ 0xff, 100);
    const corrupted = join(dir, 'corrupted.db');
    await writeFile(corrupted, bytes);
    await assert.rejects(restoreSnapshot(options(corrupted, join(dir, 'x.keel')), silentLogger), /expected sha256/);
    await assert.rejects(restoreSnapshot(options(path, dir), silentLogger), ConfigError);
    // A snapshot without its hash (copied out of a member, say) restores only with the check skipped.
    const bare = join(dir, 'bare.db');
    await writeFile(bare, (await readFile(path)).subarray(0, -32));
    await assert.rejects(restoreSnapshot(options(bare, join(dir, 'y.keel')), silentLogger), /missing hash/);
    await restoreSnapshot({ ...options(bare, join(dir, 'y.keel')), skipHashCheck: true }, silentLogger);
  });
});
