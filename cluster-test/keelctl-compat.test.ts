import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdClient } from '../src/client/etcd-client';
import { CtlResult, etcdctl, keelctl } from './support/etcdctl';
import { MemberKind, MemberProcess, startEtcd, startKeel } from './support/member-process';

/**
 * keelctl against etcdctl 3.4: every step runs etcdctl on member A and keelctl on member B, two
 * fresh members of the same kind that receive the same sequence of requests, so revisions match and
 * only the members' identities differ. Output and exit code must be equal after masking the
 * endpoint and the member and cluster IDs (and, where a step says so, numbers that differ between
 * any two members: durations, sizes, raft indexes).
 *
 * Every step runs on a pair of keel members and on a pair of etcd members.
 */

interface Step {
  args: string[];
  stdin?: string;
  /** etcdctl's exit code (default 0), checked so the table means what it says. */
  code?: number;
  /** Mask every number: for answers whose numbers differ between any two members (status, health). */
  digits?: boolean;
  /** Parse failures: etcdctl prints its usage to stdout; compare the exit code and the error line only. */
  usage?: boolean;
  /** For commands that run until stopped (watch): stop both after this long. */
  stopAfterMs?: number;
}

interface Identity {
  endpoint: string;
  ids: string[];
  peerUrls: string[];
}

const txn = (compares: string[], success: string[], failure: string[]) => [...compares, '', ...success, '', ...failure, '', ''].join('\n');

/** Replaces the endpoint and each ID (decimal and hex) of the member by placeholders. */
function scrub(text: string, who: Identity): string {
  let out = text.split(who.endpoint).join('<endpoint>');
  for (const url of who.peerUrls) out = out.split(url).join('<peer-url>');
  for (const id of who.ids) {
    out = out.split(id).join('<id>').split(BigInt(id).toString(16)).join('<id>');
  }
  // Go's %16x pads an ID shorter than 16 hex digits with spaces, and the two members' IDs differ in length.
  out = out.replace(/ {2,}<id>/g, ' <id>');
  return out.replace(/"raft_term":\d+/g, '"raft_term":<term>').replace(/"RaftTerm" : \d+/g, '"RaftTerm" : <term>');
}

/** The Go client's own JSON log lines (retry warnings, zap info) are not etcdctl's output. */
const withoutLogs = (stderr: string) => stderr.split('\n').filter((l) => !l.startsWith('{')).join('\n');

function shape(r: CtlResult, who: Identity, step: Step): CtlResult {
  let stdout = scrub(r.stdout, who);
  let stderr = scrub(withoutLogs(r.stderr), who);
  if (step.args.includes('table')) {
    // Tables pad columns to the widest cell, and masked IDs were of different lengths.
    stdout = stdout.replace(/-{2,}/g, '-').replace(/ {2,}/g, ' ');
  }
  if (step.digits) {
    const mask = (s: string) => s.replace(/\d+(\.\d+)?(µs|ms|s|ns)?/g, 'N').replace(/-{2,}/g, '-').replace(/ {2,}/g, ' ');
    [stdout, stderr] = [mask(stdout), mask(stderr)];
  }
  // A new member's ID hashes the time it was added.
  stdout = stdout.replace(/^Member +[0-9a-f]+ added/m, 'Member <new-id> added');
  // etcd lists members by ID, and the two members' IDs differ: the order of that list is theirs.
  stdout = stdout.replace(/^(ETCD_INITIAL_CLUSTER=")([^"]*)"/m, (_all, head: string, list: string) => `${head}${list.split(',').sort().join(',')}"`);
  if (step.usage) return { code: r.code, stdout: '', stderr: stderr.split('\n')[0]!.replace('etcdctl', 'keelctl') };
  return { code: r.code, stdout, stderr };
}

async function identity(m: MemberProcess): Promise<Identity> {
  const c = new EtcdClient(m.endpoint);
  try {
    const s = await c.status();
    const peerUrls = (await c.memberList()).members.flatMap((x) => x.peerURLs);
    return { endpoint: m.endpoint, ids: [s.header!.member_id, s.header!.cluster_id], peerUrls };
  } finally {
    c.close();
  }
}

const KV_STEPS: Step[] = [
  { args: ['put', 'foo', 'bar'] },
  { args: ['put', 'foo/a', '1', '--prev-kv'] },
  { args: ['put', 'foo/b', '2', '-w', 'json'] },
  { args: ['put', 'foo/a', '3', '--prev-kv', '-w', 'fields'] },
  { args: ['put', 'bin', '\u00ff\u0001é"q"'] },
  { args: ['put', 'foo/c', '--ignore-value'], code: 1 },
  { args: ['put', 'only-key'], code: 128 },
  { args: ['put', 'k', 'v', '--lease=zz'], code: 128 },
  { args: ['get', 'foo'] },
  { args: ['get', 'foo', '-w', 'json'] },
  { args: ['get', 'foo/', '--prefix', '-w', 'fields'] },
  { args: ['get', 'bin', '-w', 'fields'] },
  { args: ['get', 'bin', '--hex'] },
  { args: ['get', 'bin', '-w', 'json'] },
  { args: ['get', '', '--prefix', '--keys-only'] },
  { args: ['get', '', '--from-key', '--limit=2', '-w', 'json'] },
  { args: ['get', 'foo/', '--prefix', '--print-value-only'] },
  { args: ['get', 'foo/', '--prefix', '--sort-by=MODIFY', '--order=DESCEND'] },
  { args: ['get', 'foo/a', '--rev=3', '-w', 'json'] },
  { args: ['get', 'foo/a', 'foo/c'] },
  { args: ['get', 'foo', '--consistency=s'] },
  // Auth is disabled: clientv3 logs in, is told so, and goes on without a token.
  { args: ['--user', 'root:x', 'get', 'foo'] },
  { args: ['--user', 'root:x', 'endpoint', 'hashkv'] },
  { args: ['get', 'foo', '--print-value-only', '-w', 'json'], code: 128 },
  { args: ['get', 'foo', '--prefix', '--from-key'], code: 128 },
  { args: ['get', 'foo', '--consistency=x'], code: 4 },
  { args: ['get', 'foo', '--sort-by=SIZE'], code: 4 },
  { args: ['get', 'foo', '-w', 'table'], code: 4 },
  { args: ['get', 'foo', '-w', 'yaml'], code: 4 },
  { args: ['get', 'foo', '--rev=1000'], code: 1 },
  { args: ['get'], code: 128 },
  { args: ['get', 'foo', '--bogus'], code: 1, usage: true },
  { args: ['get', 'foo', '--limit=x'], code: 1, usage: true },
  { args: ['bogus'], code: 1, usage: true },
  { args: ['txn'], stdin: txn(['value("foo") = "bar"'], ['put t/1 one', 'get foo'], ['put t/1 failed']) },
  { args: ['txn', '-w', 'json'], stdin: txn(['mod("foo/a") > "100"'], ['put t/2 x'], ['put t/2 two', 'del t/1 --prev-kv', 'get t/ --prefix']) },
  { args: ['txn', '-w', 'fields'], stdin: txn(['version("foo/a") = "2"', 'create("foo/a") = "3"'], ['get foo/a'], []) },
  { args: ['txn'], stdin: txn([], ['put d 1', 'put d 2'], []), code: 1 },
  { args: ['txn'], stdin: 'bogus\n\n\n', code: 3 },
  { args: ['txn'], stdin: 'value("foo") = "bar"\n', code: 3 },
  { args: ['txn'], stdin: txn([], ['frob x'], []), code: 3 },
  { args: ['txn', 'extra'], code: 128 },
  { args: ['del', 'zz'] },
  { args: ['del', 't/', '--prefix', '--prev-kv', '-w', 'json'] },
  { args: ['del', 'foo/b', '--prev-kv', '-w', 'fields'] },
  { args: ['del'], code: 128 },
  { args: ['watch', 'foo', '--rev=2', '--prev-kv'], stopAfterMs: 1500 },
  { args: ['watch', 'foo/', '--prefix', '--rev=2', '-w', 'json'], stopAfterMs: 1500 },
  { args: ['watch', 'foo/a', '--rev=3', '-w', 'fields'], stopAfterMs: 1500 },
  { args: ['watch'], code: 128 },
  { args: ['compaction', '4'] },
  { args: ['compaction', '4'], code: 1 },
  { args: ['compaction', 'x'], code: 1 },
  { args: ['watch', 'foo', '--rev=2'], code: 5 },
  { args: ['watch', 'foo', '--rev=2', '-w', 'json'], code: 5 },
  { args: ['lease', 'grant', 'x'], code: 128 },
  { args: ['lease', 'grant', '9000000001'], code: 1 },
  { args: ['lease', 'timetolive', '1234'] },
  { args: ['lease', 'timetolive', '1234', '-w', 'json'] },
  { args: ['lease', 'keep-alive', '--once', '1234'], code: 2 },
  { args: ['lease', 'revoke', '1234'], code: 1 },
  { args: ['lease', 'revoke', 'xyz'], code: 128 },
  { args: ['lease', 'list', '-w', 'json'] },
  { args: ['lease', 'list', '-w', 'fields'] },
  { args: ['member', 'list'] },
  { args: ['member', 'list', '-w', 'json'] },
  { args: ['member', 'list', '-w', 'fields'] },
  { args: ['member', 'list', '-w', 'table'] },
  { args: ['endpoint', 'status', '-w', 'json'], digits: true },
  { args: ['endpoint', 'status', '-w', 'table'], digits: true },
  // etcdctl 3.4 dials the member URLs (http://host:port) it lists, with the scheme in :authority.
  { args: ['endpoint', 'status', '--cluster', '-w', 'fields'], digits: true },
  { args: ['endpoint', 'health'], digits: true },
  { args: ['endpoint', 'health', '-w', 'json'], digits: true },
  { args: ['endpoint', 'health', '-w', 'table'], digits: true },
  { args: ['lock'], code: 128 },
  { args: ['elect', 'e'], code: 128 },
  { args: ['elect', '-l', 'e', 'p'], code: 128 },
  // Membership and maintenance.
  { args: ['endpoint', 'hashkv'] },
  { args: ['endpoint', 'hashkv', '-w', 'json'] },
  { args: ['endpoint', 'hashkv', '--cluster', '-w', 'table'] },
  { args: ['alarm', 'list'] },
  { args: ['alarm', 'list', '-w', 'json'] },
  { args: ['alarm', 'disarm', '-w', 'json'] },
  { args: ['alarm', 'list', 'extra'], code: 128 },
  { args: ['defrag'] },
  { args: ['defrag', '--cluster'] },
  { args: ['move-leader', '1'], code: 1 },
  { args: ['move-leader', 'zz'], code: 128 },
  { args: ['member', 'add', 'x'], code: 128 },
  { args: ['member', 'add', 'x', 'http://127.0.0.1:1'], code: 128 },
  { args: ['member', 'remove', 'zz'], code: 128 },
  { args: ['member', 'remove', '1'], code: 1 },
  { args: ['member', 'update', '1', '--peer-urls=http://127.0.0.1:1'], code: 1 },
  { args: ['member', 'promote', '1'], code: 1 },
  { args: ['member', 'add', 'newbie', '--learner', '--peer-urls=http://127.0.0.1:1'] },
];

for (const kind of ['keel', 'etcd'] as MemberKind[]) {
  describe(`keelctl and etcdctl 3.4 print the same, on ${kind}`, function () {
    this.timeout(60_000);
    let dir: string;
    let a: MemberProcess;
    let b: MemberProcess;
    let ida: Identity;
    let idb: Identity;
    let failed = false;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), `keelctl-${kind}-`));
      const start = kind === 'keel' ? startKeel : startEtcd;
      [a, b] = await Promise.all([start({ baseDir: join(dir, 'a') }), start({ baseDir: join(dir, 'b') })]);
      [ida, idb] = await Promise.all([identity(a), identity(b)]);
    });
    afterEach(function () {
      if (this.currentTest?.state === 'failed') failed = true;
    });
    after(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      if (failed) console.log(`    keelctl-compat: keeping ${dir} for inspection`);
      else await rm(dir, { recursive: true, force: true });
    });

    for (const step of KV_STEPS) {
      const title = `${step.args.map((x) => (x === '' ? "''" : x)).join(' ')}${step.stdin === undefined ? '' : ` <<< ${JSON.stringify(step.stdin)}`}`;
      it(title, async () => {
        const opts = { ...(step.stdin === undefined ? {} : { stdin: step.stdin }), ...(step.stopAfterMs === undefined ? {} : { stopAfterMs: step.stopAfterMs }) };
        const [fromEtcdctl, fromKeelctl] = await Promise.all([etcdctl(a.endpoint, step.args, opts), keelctl(b.endpoint, step.args, opts)]);
        assert.equal(fromEtcdctl.code, step.code ?? 0, `etcdctl itself exited ${fromEtcdctl.code}: ${fromEtcdctl.stderr}`);
        assert.deepEqual(shape(fromKeelctl, idb, step), shape(fromEtcdctl, ida, step));
      });
    }

    it('lease grant, put --lease, timetolive --keys, keep-alive --once, revoke', async () => {
      const grant = await Promise.all([etcdctl(a.endpoint, ['lease', 'grant', '100']), keelctl(b.endpoint, ['lease', 'grant', '100'])]);
      const ids = grant.map((g) => /^lease ([0-9a-f]{16}) granted with TTL\(100s\)\n$/.exec(g.stdout)?.[1]);
      assert.ok(ids[0] && ids[1], `grant printed ${grant.map((g) => g.stdout).join(' / ')}`);
      const both = async (args: (id: string) => string[], digits = false) => {
        const [e, k] = await Promise.all([etcdctl(a.endpoint, args(ids[0]!)), keelctl(b.endpoint, args(ids[1]!))]);
        const mask = (r: CtlResult, who: Identity, id: string) => {
          const decimal = BigInt(`0x${id}`).toString();
          const step = { args: [], digits };
          return shape({ ...r, stdout: r.stdout.split(id).join('<lease>').split(decimal).join('<lease>') }, who, step);
        };
        assert.deepEqual(mask(k, idb, ids[1]!), mask(e, ida, ids[0]!));
      };
      await both((id) => ['put', 'leased', 'v', `--lease=${id}`]);
      await both((id) => ['lease', 'timetolive', id, '--keys'], true);
      await both((id) => ['lease', 'timetolive', id, '--keys', '-w', 'json'], true);
      await both((id) => ['lease', 'keep-alive', '--once', id, '-w', 'fields']);
      await both((id) => ['lease', 'revoke', id]);
      await both(() => ['get', 'leased']);
    });

    it('lock prints the lock key and lets go when stopped', async () => {
      const [e, k] = await Promise.all([
        etcdctl(a.endpoint, ['lock', 'mylock'], { stopAfterMs: 1500 }), keelctl(b.endpoint, ['lock', 'mylock'], { stopAfterMs: 1500 }),
      ]);
      const generic = (r: CtlResult) => r.stdout.replace(/^mylock\/[0-9a-f]+\n\n$/, 'mylock/<lease>\n\n');
      assert.equal(generic(k), 'mylock/<lease>\n\n');
      assert.equal(generic(k), generic(e));
      const left = new EtcdClient(b.endpoint);
      try {
        assert.equal((await left.range({ key: Buffer.from('mylock/'), range_end: Buffer.from('mylock0') })).count, '0', 'the lock key is gone');
      } finally {
        left.close();
      }
    });

    it('elect prints the winning proposal', async () => {
      const [e, k] = await Promise.all([
        etcdctl(a.endpoint, ['elect', 'e1', 'p1'], { stopAfterMs: 1500 }), keelctl(b.endpoint, ['elect', 'e1', 'p1'], { stopAfterMs: 1500 }),
      ]);
      const generic = (r: CtlResult) => r.stdout.replace(/^e1\/[0-9a-f]+\n/, 'e1/<lease>\n');
      assert.equal(generic(k), 'e1/<lease>\np1\n');
      assert.equal(generic(k), generic(e));
    });

    it('snapshot save writes the same kind of file', async () => {
      const [e, k] = await Promise.all([
        etcdctl(a.endpoint, ['snapshot', 'save', join(dir, 'e.db')]), keelctl(b.endpoint, ['snapshot', 'save', join(dir, 'k.db')]),
      ]);
      assert.equal(k.code, e.code, k.stderr);
      assert.equal(k.stdout.replace('k.db', 'e.db'), e.stdout);
      const size = (await stat(join(dir, 'k.db'))).size;
      assert.equal(size % 512, 32, 'database pages and the sha256 digest');
      await assert.rejects(readFile(join(dir, 'k.db.part')), 'no partial file is left behind');
    });
  });
}

describe('keelctl against etcdctl 3.4: an endpoint nobody answers at', function () {
  this.timeout(60_000);
  // Nothing listens on port 1 of loopback: both clients wait for a connection until the command
  // timeout, as clientv3's calls do, and say so in etcdctl's words.
  const NOBODY = '127.0.0.1:1';
  const steps = [['defrag'], ['endpoint', 'status'], ['endpoint', 'hashkv'], ['endpoint', 'health']];
  for (const step of steps) {
    it(step.join(' '), async () => {
      const args = ['--command-timeout=1s', ...step];
      const [e, k] = await Promise.all([etcdctl(NOBODY, args), keelctl(NOBODY, args)]);
      // etcdctl's clientv3 also logs its retries as JSON lines on stderr; keelctl does not.
      const words = (r: CtlResult) => ({ code: r.code, stdout: r.stdout, stderr: r.stderr.split('\n').filter((l) => !l.startsWith('{')).join('\n') });
      assert.deepEqual(words(k), words(e));
    });
  }
});
