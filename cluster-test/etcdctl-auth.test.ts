import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CtlResult, etcdctl, keelctl } from './support/etcdctl';
import { MemberKind, MemberProcess, startEtcd, startKeel } from './support/member-process';

/**
 * The real etcdctl 3.4 drives users, roles and permissions on a keel member and on a real etcd
 * member, and keelctl on a second keel member; every step must answer the same everywhere (exit
 * code, output, error line).
 */
const ROOT = ['--user', 'root:rootpw'];
const ALICE = ['--user', 'alice:alicepw'];

const STEPS: string[][] = [
  ['user', 'add', 'root:rootpw'],
  ['user', 'add', 'root:again'],
  ['role', 'add', 'reader'],
  ['role', 'add', 'reader'],
  ['role', 'grant-permission', 'reader', 'read', '/app/', '--prefix'],
  ['role', 'grant-permission', 'reader', 'readwrite', '/app/mine'],
  ['role', 'grant-permission', 'nobody', 'read', 'x'],
  ['user', 'add', 'alice:alicepw'],
  ['user', 'grant-role', 'alice', 'reader'],
  ['user', 'grant-role', 'alice', 'nobody'],
  ['user', 'grant-role', 'bob', 'reader'],
  ['auth', 'enable'],
  ['put', '/app/x', '1'],
  [...ROOT, 'put', '/app/x', '1'],
  [...ALICE, 'get', '/app/x'],
  [...ALICE, 'put', '/app/x', '2'],
  [...ALICE, 'put', '/app/mine', '2'],
  [...ALICE, 'get', '/app/', '--prefix', '--keys-only'],
  [...ALICE, 'get', '/secret'],
  [...ALICE, 'del', '/app/mine'],
  [...ALICE, 'txn'],
  [...ALICE, 'watch', '/secret'],
  [...ALICE, 'watch', '/app/', '--prefix', '--rev=1'],
  [...ALICE, 'user', 'list'],
  [...ALICE, 'member', 'add', 'x', '--peer-urls=http://127.0.0.1:1'],
  ['--user', 'alice:wrong', 'get', '/app/x'],
  ['--user', 'nobody:pw', 'get', '/app/x'],
  [...ROOT, 'user', 'list'],
  [...ROOT, 'role', 'list'],
  [...ROOT, 'role', 'get', 'reader'],
  [...ROOT, 'user', 'get', 'alice'],
  [...ROOT, 'user', 'get', 'root'],
  [...ROOT, 'role', 'revoke-permission', 'reader', '/app/mine'],
  [...ROOT, 'role', 'revoke-permission', 'reader', '/app/mine'],
  [...ALICE, 'put', '/app/mine', '3'],
  [...ROOT, 'user', 'revoke-role', 'alice', 'nobody'],
  [...ROOT, 'user', 'revoke-role', 'root', 'root'],
  [...ROOT, 'user', 'delete', 'root'],
  [...ROOT, 'role', 'delete', 'root'],
  [...ROOT, 'user', 'passwd', 'alice', '--interactive=false'],
  [...ALICE, 'get', '/app/x'],
  ['--user', 'alice:newpw', 'get', '/app/x', '--print-value-only'],
  [...ROOT, 'user', 'delete', 'alice'],
  ['--user', 'alice:newpw', 'get', '/app/x'],
  [...ROOT, 'auth', 'disable'],
  ['get', '/app/', '--prefix'],
  ['role', 'delete', 'reader'],
  ['user', 'get', 'alice'],
];

/** etcd's client logs retries as JSON lines on stderr; they are not etcdctl's answer. */
const answer = (r: CtlResult) => ({
  code: r.code, stdout: r.stdout, stderr: r.stderr.split('\n').filter((l) => !l.startsWith('{')).join('\n'),
});

/**
 * For the suite it is called in: a keel member for etcdctl, an etcd member, and a keel member for
 * keelctl, each with auth off, started before its tests and stopped after them.
 */
function threeMembers(prefix: string): { members: Map<MemberKind | 'keelctl', MemberProcess>; dir: () => string } {
  let dir = '';
  const members = new Map<MemberKind | 'keelctl', MemberProcess>();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    members.set('keel', await startKeel({ baseDir: join(dir, 'keel') }));
    members.set('etcd', await startEtcd({ baseDir: join(dir, 'etcd') }));
    members.set('keelctl', await startKeel({ baseDir: join(dir, 'keelctl') }));
  });
  after(async () => {
    await Promise.all([...members.values()].map((m) => m.stop()));
    await rm(dir, { recursive: true, force: true });
  });
  return { members, dir: () => dir };
}

describe('etcdctl 3.4 users, roles and permissions: keel answers as etcd', function () {
  this.timeout(120_000);
  const { members } = threeMembers('keel-auth-');

  for (const step of STEPS) {
    it(step.join(' '), async () => {
      // passwd reads the new password from stdin when not interactive.
      const stdin = step.includes('passwd') ? 'newpw\n' : step.includes('txn') ? 'value("/app/x") = "1"\n\nput /app/x 9\n\n\n' : undefined;
      // watch runs until stopped; a refused watch is cancelled at once.
      const opts = { ...(stdin === undefined ? {} : { stdin }), ...(step.includes('watch') ? { stopAfterMs: 1500 } : {}) };
      const [fromKeel, fromEtcd, fromKeelctl] = await Promise.all([
        etcdctl(members.get('keel')!.endpoint, step, opts), etcdctl(members.get('etcd')!.endpoint, step, opts),
        keelctl(members.get('keelctl')!.endpoint, step, opts),
      ]);
      assert.deepEqual(answer(fromKeel), answer(fromEtcd), 'etcdctl on keel and on etcd');
      assert.deepEqual(answer(fromKeelctl), answer(fromEtcd), 'keelctl on keel and etcdctl on etcd');
    });
  }

  it('writes no password to the members\' logs or data', async () => {
    for (const kind of ['keel', 'keelctl'] as const) {
      const m = members.get(kind)!;
      const log = await readFile(m.logFile, 'utf8');
      assert.ok(log.includes('"msg"'), `${m.logFile} has log lines`);
      for (const secret of ['rootpw', 'alicepw', 'newpw']) {
        assert.ok(!log.includes(secret), `${secret} appears in ${m.logFile}`);
        assert.equal(grepData(m.dataDir, secret), false, `${secret} appears in ${m.dataDir}`);
      }
    }
  });
});

/** Whether any file under `dir` holds `text` (passwords must be stored only as salted hashes). */
function grepData(dir: string, text: string): boolean {
  try {
    execFileSync('grep', ['-rqa', text, dir]);
    return true;
  } catch {
    return false; // grep exits 1 when nothing matches
  }
}

/**
 * For the suite it is called in: a fresh dir, and the member a test starts in it (`running`),
 * stopped and removed after the suite.
 */
function oneMember(prefix: string): { dir: string; running?: MemberProcess } {
  const s: { dir: string; running?: MemberProcess } = { dir: '' };
  before(async () => {
    s.dir = await mkdtemp(join(tmpdir(), prefix));
  });
  after(async () => {
    await s.running?.stop();
    await rm(s.dir, { recursive: true, force: true });
  });
  return s;
}

describe('auth on keel across a restart', function () {
  this.timeout(60_000);
  const s = oneMember('keel-auth-restart-');

  it('keeps users, roles and the enabled switch; tokens from before the restart are gone', async () => {
    let member = s.running = await startKeel({ baseDir: s.dir });
    for (const step of [['user', 'add', 'root:rootpw'], ['auth', 'enable'], [...ROOT, 'put', 'k', 'v']]) {
      const r = await etcdctl(member.endpoint, step);
      assert.equal(r.code, 0, `${step.join(' ')}: ${r.stderr}`);
    }
    await member.stop();
    member = s.running = await member.restart();
    const anonymous = await etcdctl(member.endpoint, ['get', 'k']);
    assert.deepEqual(answer(anonymous), { code: 1, stdout: '', stderr: 'Error: etcdserver: user name is empty\n' });
    const asRoot = await etcdctl(member.endpoint, [...ROOT, 'get', 'k', '--print-value-only']);
    assert.deepEqual(answer(asRoot), { code: 0, stdout: 'v\n', stderr: '' });
  });
});

/**
 * More of etcd's auth answers, etcdctl on a keel member and on an etcd member (etcd 3.4; each
 * also as in 3.5): what a user may read of itself, no-password users, the raw auth errors of the
 * maintenance calls, a watch without a token, the order RoleGet lists permissions in. keelctl
 * runs every step on a second keel member and must answer as etcdctl does on the first.
 */
const BOB = ['--user', 'bob:bobpw'];
const BAD = ['--user', 'bob:wrong'];
const MORE_STEPS: Array<{ args: string[]; stdin?: string; stopAfterMs?: number; digits?: boolean }> = [
  { args: ['user', 'add', 'root:rootpw'] },
  // With auth still disabled, --user is no obstacle: clientv3 goes on without a token.
  { args: [...ROOT, 'get', '/z/'] },
  { args: [...ROOT, 'defrag'] },
  { args: ['user', 'add', 'bob:bobpw'] },
  { args: ['user', 'add', 'np', '--no-password'] },
  // With --no-password the whole argument is the name, a colon included.
  { args: ['user', 'add', 'np2:x', '--no-password'] },
  { args: ['user', 'get', 'np2:x'] },
  { args: ['user', 'add', '--no-password'] },
  { args: ['role', 'add', 'reader'] },
  { args: ['role', 'add', 'other'] },
  // etcd orders a role's permissions by key alone, keeping the order they were granted in.
  { args: ['role', 'grant-permission', 'reader', 'read', '/z/', '--prefix'] },
  { args: ['role', 'grant-permission', 'reader', 'readwrite', '/z/'] },
  { args: ['role', 'grant-permission', 'reader', 'read', '/a', '/c'] },
  { args: ['role', 'grant-permission', 'reader', 'read', '/a'] },
  { args: ['role', 'grant-permission', 'reader', 'write', '/a', '/c'] },
  { args: ['role', 'get', 'reader'] },
  { args: ['user', 'grant-role', 'bob', 'reader'] },
  { args: ['user', 'grant-role', 'np', 'reader'] },
  // A no-password user stays one after a new password: it never authenticates.
  { args: ['user', 'passwd', 'np', '--interactive=false'], stdin: 'nppw\n' },
  { args: ['auth', 'enable'] },
  { args: ['--user', 'np:nppw', 'get', '/z/'] },
  { args: ['--user', 'np:other', 'get', '/z/'] },
  // Any user may get itself and the roles it holds; nothing else.
  { args: [...BOB, 'user', 'get', 'bob'] },
  { args: [...BOB, 'user', 'get', 'root'] },
  { args: [...BOB, 'user', 'get', 'nobody'] },
  { args: [...BOB, 'role', 'get', 'reader'] },
  { args: [...BOB, 'role', 'get', 'other'] },
  { args: [...BOB, 'role', 'get', 'nobody'] },
  { args: [...BOB, 'user', 'passwd', 'bob', '--interactive=false'], stdin: 'x\n' },
  // Defragment, HashKV and Snapshot refuse with the auth package's own errors (code Unknown).
  { args: [...BOB, 'defrag'] },
  { args: ['defrag'] },
  { args: [...BOB, 'endpoint', 'hashkv'] },
  { args: [...BOB, 'snapshot', 'save', 'SNAPSHOT'] },
  // A watch stream needs no token: each watcher it creates does.
  { args: ['watch', '/z/'], stopAfterMs: 1500 },
  { args: [...ROOT, 'defrag'] },
  // The maintenance commands that call each endpoint themselves log in there with --user; a
  // refused login ends them first (exit 2), as etcdctl's client does.
  { args: [...ROOT, 'defrag', '--cluster'] },
  { args: [...BOB, 'defrag', '--cluster'] },
  { args: [...BAD, 'defrag'] },
  { args: [...BAD, 'defrag', '--cluster'] },
  { args: [...ROOT, 'endpoint', 'hashkv'] },
  { args: [...ROOT, 'endpoint', 'hashkv', '--cluster'] },
  { args: [...BOB, 'endpoint', 'hashkv', '--cluster'] },
  { args: [...BAD, 'endpoint', 'hashkv'] },
  { args: [...BAD, 'endpoint', 'status'] },
  { args: [...BAD, 'endpoint', 'status', '--cluster'] },
  { args: [...ROOT, 'endpoint', 'health'], digits: true },
  { args: [...BOB, 'endpoint', 'health', '--cluster'], digits: true },
  { args: [...BAD, 'endpoint', 'health'] },
  // etcdctl lists the members without logging in: each endpoint's refused login is its answer.
  { args: [...BAD, 'endpoint', 'health', '--cluster'] },
  { args: [...ROOT, 'move-leader', '1'] },
  { args: [...BAD, 'move-leader', '1'] },
  { args: [...ROOT, 'snapshot', 'save', 'SNAPSHOT'] },
  { args: [...BAD, 'snapshot', 'save', 'SNAPSHOT'] },
  { args: [...ROOT, 'alarm', 'list'] },
  { args: [...BAD, 'alarm', 'list'] },
  { args: [...BAD, 'member', 'list'] },
];

describe('etcdctl 3.4 auth, more: keel answers as etcd', function () {
  this.timeout(120_000);
  const { members, dir } = threeMembers('keel-auth-more-');

  for (const step of MORE_STEPS) {
    it(step.args.join(' '), async () => {
      const opts = { ...(step.stdin === undefined ? {} : { stdin: step.stdin }), ...(step.stopAfterMs === undefined ? {} : { stopAfterMs: step.stopAfterMs }) };
      const run = (kind: MemberKind | 'keelctl') => {
        const m = members.get(kind)!;
        const snapshot = join(dir(), `${kind}.snapshot.db`);
        const args = step.args.map((a) => (a === 'SNAPSHOT' ? snapshot : a));
        // Output naming the endpoint or the snapshot file is compared without it; with `digits`,
        // without numbers either (health's durations).
        const generic = (text: string) => {
          const out = text.replaceAll(m.endpoint, 'ENDPOINT').replaceAll(snapshot, 'SNAPSHOT');
          return step.digits ? out.replace(/\d+(\.\d+)?(µs|ms|s|ns)?/g, 'N') : out;
        };
        return (kind === 'keelctl' ? keelctl : etcdctl)(m.endpoint, args, opts).then((r) => {
          const a = answer(r);
          return { ...a, stdout: generic(a.stdout), stderr: generic(a.stderr) };
        });
      };
      const [fromKeel, fromEtcd, fromKeelctl] = await Promise.all([run('keel'), run('etcd'), run('keelctl')]);
      assert.deepEqual(fromKeel, fromEtcd, 'etcdctl on keel and on etcd');
      assert.deepEqual(fromKeelctl, fromKeel, 'keelctl and etcdctl, each on a keel member');
    });
  }
});

/**
 * etcd's authApplierV3.Put: a put attaching a key to a lease that already holds keys the user may
 * not write is refused, as the user could not revoke that lease (3.4 and 3.5 alike).
 */
for (const kind of ['keel', 'etcd'] as MemberKind[]) {
  describe(`a put to a lease holding keys the user may not write, on ${kind}`, function () {
    this.timeout(60_000);
    const s = oneMember(`keel-auth-lease-${kind}-`);

    it('is refused with "permission denied"; a lease with only its own keys is fine', async () => {
      const member = s.running = kind === 'keel' ? await startKeel({ baseDir: s.dir }) : await startEtcd({ baseDir: s.dir });
      const ctl = async (args: string[]) => answer(await etcdctl(member.endpoint, args));
      for (const step of [
        ['user', 'add', 'root:rootpw'], ['user', 'add', 'alice:alicepw'], ['role', 'add', 'app'],
        ['role', 'grant-permission', 'app', 'readwrite', '/app/', '--prefix'], ['user', 'grant-role', 'alice', 'app'], ['auth', 'enable'],
      ]) assert.equal((await ctl(step)).code, 0, step.join(' '));
      const grant = async () => /^lease ([0-9a-f]+) granted/.exec((await ctl([...ROOT, 'lease', 'grant', '600'])).stdout)![1]!;
      const rootLease = await grant();
      assert.equal((await ctl([...ROOT, 'put', '/secret', 'v', `--lease=${rootLease}`])).code, 0);
      assert.deepEqual(await ctl([...ALICE, 'put', '/app/a', 'v', `--lease=${rootLease}`]),
        { code: 1, stdout: '', stderr: 'Error: etcdserver: permission denied\n' });
      const ownLease = await grant();
      assert.deepEqual(await ctl([...ALICE, 'put', '/app/b', 'v', `--lease=${ownLease}`]), { code: 0, stdout: 'OK\n', stderr: '' });
      assert.deepEqual(await ctl([...ALICE, 'put', '/app/c', 'v', `--lease=${ownLease}`]), { code: 0, stdout: 'OK\n', stderr: '' });
      assert.deepEqual(await ctl([...ROOT, 'get', '/', '--prefix', '--keys-only']), { code: 0, stdout: '/app/b\n\n/app/c\n\n/secret\n\n', stderr: '' });
    });
  });
}
