import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSnapshotFile } from '../src/server/snapshot-file';
import { parseDump } from '../src/server/state-snapshot';
import { CtlResult, etcdctl } from './support/etcdctl';
import { MemberProcess, startEtcd, startKeel } from './support/member-process';

/** A small quota both stores fill within a few dozen 20 kB puts. */
const QUOTA = ['--quota-backend-bytes', String(1024 * 1024)];
const VALUE = 'x'.repeat(20_000);

/** What legitimately differs between two one-member clusters: IDs, term, endpoint, log noise. */
function scrub(r: CtlResult, m: MemberProcess): { code: number; stdout: string; stderr: string } {
  const clean = (text: string) => text.split(m.endpoint).join('<endpoint>')
    .replace(/memberID:\d+/g, 'memberID:<id>')
    .replace(/took = [\d.]+(?:ns|µs|ms|s)/g, 'took = <time>')
    .replace(/"(cluster_id|member_id|raft_term)":\d+/g, '"$1":<$1>');
  const stderr = r.stderr.split('\n').map((line) => {
    if (!line.startsWith('{')) return line;
    const e = JSON.parse(line) as { level?: string; msg?: string; error?: string };
    return `${e.level}: ${e.msg}: ${e.error ?? ''}`;
  }).join('\n');
  return { code: r.code, stdout: clean(r.stdout), stderr: clean(stderr) };
}

describe('etcdctl 3.4 maintenance commands against keel and a real etcd', function () {
  this.timeout(120_000);
  let dir: string;
  let keel: MemberProcess;
  let etcd: MemberProcess;
  let failed = false;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-maint-'));
    [keel, etcd] = await Promise.all([
      startKeel({ baseDir: join(dir, 'keel'), extraArgs: QUOTA }),
      startEtcd({ baseDir: join(dir, 'etcd'), extraArgs: QUOTA }),
    ]);
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });
  after(async () => {
    await Promise.all([keel?.stop(), etcd?.stop()]);
    if (failed) console.log(`    keeping ${dir} for inspection`);
    else await rm(dir, { recursive: true, force: true });
  });

  async function same(args: string[], code = 0): Promise<void> {
    const [k, e] = await Promise.all([etcdctl(keel.endpoint, args), etcdctl(etcd.endpoint, args)]);
    assert.equal(e.code, code, `etcd itself exited ${e.code}: ${e.stderr}`);
    assert.deepEqual(scrub(k, keel), scrub(e, etcd), `etcdctl ${args.join(' ')}`);
  }

  it('endpoint hashkv: the same writes give the same hash as etcd', async () => {
    await same(['put', 'a', '1']);
    await same(['put', 'b', '2']);
    await same(['del', 'a']);
    await same(['endpoint', 'hashkv', '-w', 'json']);
    await same(['compaction', '3']);
    await same(['endpoint', 'hashkv', '-w', 'json']);
  });

  it('snapshot save writes the contents and their sha256, which keel can read back', async () => {
    const path = join(dir, 'keel.snapshot');
    const r = await etcdctl(keel.endpoint, ['snapshot', 'save', path]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `Snapshot saved at ${path}\n`);
    const records = parseDump(readSnapshotFile(await readFile(path), false)).records;
    assert.ok(records.length >= 4, `the revision records of b, a and its deletion, got ${records.length} records`);
  });

  it('a full backend refuses writes with NOSPACE, serves reads, and recovers by compaction, defrag and alarm disarm', async () => {
    const fill = async (m: MemberProcess) => {
      for (let i = 0; i < 200; i++) {
        const r = await etcdctl(m.endpoint, ['put', `k${i}`, VALUE]);
        if (r.code !== 0) return { failedAt: i, result: r };
      }
      throw new Error(`${m.name} never filled its quota`);
    };
    const [k, e] = await Promise.all([fill(keel), fill(etcd)]);
    assert.deepEqual(scrub(k.result, keel), scrub(e.result, etcd));
    assert.match(k.result.stderr, /code = ResourceExhausted desc = etcdserver: mvcc: database space exceeded/);
    await same(['alarm', 'list']);
    await same(['put', 'z', '1'], 1);
    await same(['lease', 'grant', '10'], 1);
    await same(['get', 'k1', '--keys-only']);
    // etcdctl 3.4 does not look at alarms here.
    await same(['endpoint', 'health']);

    // Alarms are replicated state on disk: a restart keeps NOSPACE raised.
    await keel.stop();
    keel = await keel.restart();
    await same(['alarm', 'list']);
    await same(['put', 'z', '1'], 1);

    const [kd, ed] = await Promise.all([
      etcdctl(keel.endpoint, ['del', '--prefix', 'k']), etcdctl(etcd.endpoint, ['del', '--prefix', 'k']),
    ]);
    assert.deepEqual([kd.code, kd.stdout], [0, `${k.failedAt}\n`]);
    assert.equal(ed.code, 0);
    for (const m of [keel, etcd]) {
      const status = JSON.parse((await etcdctl(m.endpoint, ['endpoint', 'status', '-w', 'json'])).stdout) as Array<{ Status: { header: { revision: number } } }>;
      const c = await etcdctl(m.endpoint, ['compaction', String(status[0]!.Status.header.revision)]);
      assert.equal(c.code, 0, c.stderr);
    }
    await same(['defrag']);
    await same(['put', 'z', '1'], 1);
    await same(['alarm', 'disarm']);
    await same(['alarm', 'list']);
    await same(['put', 'z', '1']);
  });
});
