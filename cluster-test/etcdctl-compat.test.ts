import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdClient } from '../src/client/etcd-client';
import type { RangeRequest } from '../src/generated/etcdserverpb/RangeRequest';
import type { RangeResponse__Output } from '../src/generated/etcdserverpb/RangeResponse';
import { CtlResult, etcdctl } from './support/etcdctl';
import { freePort, MemberProcess, startEtcd, startKeel } from './support/member-process';

/**
 * The real etcdctl 3.4 against a keel member and a real etcd 3.4 member, side by side: every step
 * runs on both and Keel's output must equal etcd's, after normalising only what legitimately differs
 * between two clusters (cluster and member IDs, raft term and index, version, db size, ports).
 *
 * Both stores receive the identical sequence of writes, so revisions are NOT normalised: they must
 * match exactly. A fresh etcd is at revision 1, so the n-th write of the sequence gets revision n+1;
 * the `rev N` comments below are those revisions.
 */

interface Step {
  args: string[];
  /** txn reads its compares and operations from stdin (non-interactive format). */
  stdin?: string;
  /** etcd's exit code (default 0): checks that the table means what it says before comparing. */
  code?: number;
}

interface Normalised {
  code: number;
  stdout: string;
  stderr: string;
}

/** Non-interactive txn input: compares, a blank line, success ops, a blank line, failure ops. */
function txn(compares: string[], success: string[], failure: string[]): string {
  return [...compares, '', ...success, '', ...failure, '', ''].join('\n');
}

/** Replaces a uint64 ID or term by a placeholder, but keeps 0: nested txn headers must carry zeros. */
function maskNonZero(text: string, pattern: RegExp): string {
  return text.replace(pattern, (all: string, field: string, value: string) => (value === '0' ? all : all.replace(value, `<${field}>`)));
}

/** What may differ between two clusters given the same requests: IDs, term, and the endpoint. */
function scrub(text: string, m: MemberProcess): string {
  let out = text.split(m.endpoint).join('<endpoint>');
  out = maskNonZero(out, /"(cluster_id|member_id|raft_term)":(\d+)/g);
  out = maskNonZero(out, /"(ClusterID|MemberID|RaftTerm)" : (\d+)/g);
  return out;
}

/**
 * etcdctl logs each failed attempt as a JSON line with a timestamp and a random client ID; keep the
 * message and the error, which carries the gRPC code the server answered (clients act on it).
 */
function scrubStderr(text: string, m: MemberProcess): string {
  const lines = text.split('\n').map((line) => {
    if (!line.startsWith('{')) return line;
    const entry = JSON.parse(line) as { level?: string; msg?: string; error?: string };
    return `${entry.level}: ${entry.msg}: ${entry.error ?? ''}`;
  });
  return scrub(lines.join('\n'), m);
}

function normalise(r: CtlResult, m: MemberProcess): Normalised {
  return { code: r.code, stdout: scrub(r.stdout, m), stderr: scrubStderr(r.stderr, m) };
}

/** The int64 fields of a header that differ between clusters; the revision stays. */
function withoutIds(r: RangeResponse__Output): RangeResponse__Output {
  return { ...r, header: r.header && { ...r.header, cluster_id: '<id>', member_id: '<id>', raft_term: '<term>' } };
}

describe('etcdctl 3.4 against keel and a real etcd', function () {
  this.timeout(60_000);
  let dir: string;
  let failed = false;
  const running: MemberProcess[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-etcdctl-'));
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });
  after(async () => {
    await Promise.all(running.map((m) => m.stop()));
    if (failed) console.log(`    etcdctl-compat: keeping ${dir} (member logs and data) for inspection`);
    else await rm(dir, { recursive: true, force: true });
  });

  describe('the same commands give the same output', () => {
    let keel: MemberProcess;
    let etcd: MemberProcess;
    let keelPeerPort: number;
    let etcdPeerPort: number;

    before(async () => {
      [keelPeerPort, etcdPeerPort] = [await freePort(), await freePort()];
      const started = await Promise.allSettled([
        startKeel({ baseDir: join(dir, 'keel'), peerPort: keelPeerPort }),
        startEtcd({ baseDir: join(dir, 'etcd'), peerPort: etcdPeerPort }),
      ]);
      // Whatever started is stopped by after(), even when the other one failed to start.
      for (const s of started) if (s.status === 'fulfilled') running.push(s.value);
      for (const s of started) if (s.status === 'rejected') throw s.reason;
      [keel, etcd] = started.map((s) => (s as PromiseFulfilledResult<MemberProcess>).value) as [MemberProcess, MemberProcess];
    });

    /** Runs one etcdctl step on both members at once. */
    async function onBoth(args: string[], stdin?: string): Promise<{ keel: CtlResult; etcd: CtlResult }> {
      const opts = stdin === undefined ? {} : { stdin };
      const [k, e] = await Promise.all([etcdctl(keel.endpoint, args, opts), etcdctl(etcd.endpoint, args, opts)]);
      return { keel: k, etcd: e };
    }

    function defineSteps(steps: Step[]): void {
      for (const step of steps) {
        const title = `etcdctl ${step.args.map((a) => (a === '' ? "''" : a)).join(' ')}` +
          (step.stdin === undefined ? '' : ` <<< ${JSON.stringify(step.stdin)}`);
        it(title, async () => {
          const r = await onBoth(step.args, step.stdin);
          assert.equal(r.etcd.code, step.code ?? 0, `etcd itself exited ${r.etcd.code}: ${r.etcd.stderr}`);
          assert.deepEqual(normalise(r.keel, keel), normalise(r.etcd, etcd));
        });
      }
    }

    describe('put', () => {
      defineSteps([
        { args: ['put', 'foo', 'bar'] }, // rev 2
        { args: ['put', 'foo/c', 'x'] }, // rev 3
        { args: ['put', 'foo/a', 'y'] }, // rev 4
        { args: ['put', 'foo/b', '3'] }, // rev 5
        { args: ['put', 'foo/c', 'z'] }, // rev 6
        { args: ['put', 'foo/c', '2', '--prev-kv'] }, // rev 7
        { args: ['put', 'foo/a', '1', '-w', 'json'] }, // rev 8
        { args: ['put', 'fop', 'x'] }, // rev 9: just past the prefix "foo"
        { args: ['put', 'zz', 'last'] }, // rev 10
        { args: ['put', 'fields', 'f', '--prev-kv', '-w', 'fields'] }, // rev 11
        { args: ['put', 'fields', 'g', '--prev-kv', '-w', 'json'] }, // rev 12
        // Now foo/a=1 (create 4, mod 8, version 2), foo/b=3 (5, 5, 1), foo/c=2 (3, 7, 3), so each
        // sort target gives its own ascending order: KEY abc, CREATE cab, MODIFY bca, VERSION bac,
        // VALUE acb.
      ]);
    });

    describe('get and its range options', () => {
      const sorts: Step[] = [];
      for (const target of ['KEY', 'VERSION', 'CREATE', 'MODIFY', 'VALUE']) {
        for (const order of ['ASCEND', 'DESCEND']) {
          sorts.push({ args: ['get', 'foo/', '--prefix', `--sort-by=${target}`, `--order=${order}`] });
        }
      }
      defineSteps([
        { args: ['get', 'foo'] },
        { args: ['get', 'foo', '-w', 'json'] },
        { args: ['get', 'foo', '-w', 'fields'] },
        { args: ['get', 'nothing-here'] },
        { args: ['get', 'nothing-here', '-w', 'json'] },
        { args: ['get', 'foo', '--prefix'] },
        { args: ['get', 'foo/', '--prefix', '--keys-only'] },
        { args: ['get', 'foo/', '--prefix', '--print-value-only'] },
        { args: ['get', 'foo/', '--prefix', '--limit=2', '-w', 'json'] },
        { args: ['get', 'foo/', '--prefix', '--limit=2', '-w', 'fields'] },
        { args: ['get', 'foo/a', 'foo/c'] }, // [foo/a, foo/c)
        { args: ['get', '--from-key', 'foo/b'] },
        { args: ['get', '--from-key', ''] }, // every key
        { args: ['get', '', '--prefix', '-w', 'json'] }, // every key, with revisions and versions
        ...sorts,
        { args: ['get', 'foo/', '--prefix', '--sort-by=MODIFY'] }, // a target alone sorts ascending
        { args: ['get', 'foo/', '--prefix', '--order=DESCEND'] }, // an order alone sorts by key
        { args: ['get', 'foo/', '--prefix', '--sort-by=VALUE', '--order=DESCEND', '--limit=1'] }, // sort, then limit
        { args: ['get', 'foo/a', '--rev=4'] },
        { args: ['get', 'foo/a', '--rev=8', '-w', 'json'] },
        { args: ['get', 'foo/c', '--rev=6', '-w', 'fields'] },
        { args: ['get', 'foo/', '--prefix', '--rev=5'] },
        { args: ['get', 'foo/b', '--rev=4'] }, // before foo/b was created
        { args: ['get', '', '--from-key', '--rev=1'] }, // the empty store etcd starts with
        { args: ['get', 'foo/', '--prefix', '--consistency=s'] },
        { args: ['get', 'foo', '--consistency=s', '-w', 'json'] },
        { args: ['get', 'foo', '--rev=1000'], code: 1 }, // a future revision
        { args: ['get', ''], code: 1 }, // the empty key
        { args: ['get', '', '-w', 'json'], code: 1 },
      ]);
    });

    // etcdctl 3.4 has no flags for count_only or the min/max mod/create revision filters (its get
    // rejects --count-only as an unknown flag), so those Range options are compared through the typed
    // client, on the same two stores at the same point of the sequence.
    describe('Range options etcdctl 3.4 does not expose', () => {
      const b = (s: string) => Buffer.from(s);
      const prefix = { key: b('foo/'), range_end: b('foo0') };
      const cases: Array<{ name: string; req: RangeRequest }> = [
        { name: 'count_only', req: { ...prefix, count_only: true } },
        { name: 'count_only with limit', req: { ...prefix, count_only: true, limit: 1 } },
        { name: 'min_mod_revision', req: { ...prefix, min_mod_revision: 7 } },
        { name: 'max_mod_revision', req: { ...prefix, max_mod_revision: 7 } },
        { name: 'min_create_revision', req: { ...prefix, min_create_revision: 4 } },
        { name: 'max_create_revision', req: { ...prefix, max_create_revision: 4 } },
        { name: 'min and max mod revision together', req: { ...prefix, min_mod_revision: 6, max_mod_revision: 7 } },
        { name: 'mod revision filter with limit', req: { ...prefix, min_mod_revision: 5, limit: 1 } },
        { name: 'create revision filter at an old revision', req: { ...prefix, max_create_revision: 3, revision: 4 } },
        { name: 'mod revision filter with a sort', req: { ...prefix, max_mod_revision: 7, sort_target: 'VALUE', sort_order: 'DESCEND' } },
        { name: 'keys_only with count', req: { ...prefix, keys_only: true, limit: 2 } },
      ];
      for (const c of cases) {
        it(c.name, async () => {
          const [k, e] = [new EtcdClient(keel.endpoint), new EtcdClient(etcd.endpoint)];
          try {
            const [fromKeel, fromEtcd] = await Promise.all([k.range(c.req), e.range(c.req)]);
            assert.deepEqual(withoutIds(fromKeel), withoutIds(fromEtcd));
          } finally {
            k.close();
            e.close();
          }
        });
      }
    });

    describe('put --ignore-value, --ignore-lease and the empty key', () => {
      defineSteps([
        { args: ['put', 'foo/c', '--ignore-value', '--prev-kv'] }, // rev 13: value kept, version 4
        { args: ['put', 'foo/c', '33', '--ignore-lease', '-w', 'json'] }, // rev 14
        { args: ['get', 'foo/c', '-w', 'json'] },
        { args: ['put', 'nokey', '--ignore-value'], code: 1 },
        { args: ['put', 'nokey', 'v', '--ignore-lease'], code: 1 },
        { args: ['put', '', 'v'], code: 1 },
        { args: ['get', 'nokey'] }, // the refused puts wrote nothing
      ]);
    });

    describe('txn from stdin', () => {
      defineSteps([
        // rev 15: a value compare that holds, with a get among the success operations
        { args: ['txn'], stdin: txn(['value("foo") = "bar"'], ['put t/1 one', 'get foo'], ['put t/1 failed']) },
        // rev 16: one that does not; the failure branch runs
        { args: ['txn', '-w', 'json'], stdin: txn(['value("foo") = "nope"'], ['put t/2 failed'], ['put t/2 two', 'get t/1']) },
        // rev 17: version, create and mod compares that all hold
        {
          args: ['txn', '-w', 'json'],
          stdin: txn(['version("foo/a") = "2"', 'create("foo/a") = "4"', 'mod("foo/a") = "8"'], ['put t/3 three'], ['put t/3 failed']),
        },
        // rev 18: a strict > that fails by one
        { args: ['txn', '-w', 'fields'], stdin: txn(['mod("foo/b") > "5"'], ['put t/4 failed'], ['put t/4 four']) },
        // rev 19: < and != that hold (foo/c is "33", version 5)
        { args: ['txn'], stdin: txn(['version("foo/c") < "6"', 'value("foo/c") != "2"'], ['put t/5 five'], ['put t/5 failed']) },
        // rev 20: a value compare against a missing key is false, even with !=
        { args: ['txn'], stdin: txn(['value("missing") != "x"'], ['put t/6 failed'], ['put t/6 six']) },
        // rev 21: a missing key has create, mod and version 0
        {
          args: ['txn', '-w', 'json'],
          stdin: txn(['create("missing") = "0"', 'mod("missing") = "0"', 'version("missing") = "0"'], ['put t/7 seven'], ['put t/7 failed']),
        },
        // rev 22: two deletes of the same key are allowed
        { args: ['txn', '-w', 'json'], stdin: txn([], ['del t/7', 'del t/7 --prev-kv'], []) },
        // no write: two reads of the same key, and a prefix read
        { args: ['txn', '-w', 'json'], stdin: txn([], ['get t/1', 'get t/1', 'get t/ --prefix --keys-only'], []) },
        // no write: compares but no operations
        { args: ['txn', '-w', 'json'], stdin: txn(['value("foo") = "bar"'], [], []) },
        // two writes to one key in a branch are refused, in either branch
        { args: ['txn'], stdin: txn([], ['put d 1', 'put d 2'], []), code: 1 },
        { args: ['txn'], stdin: txn(['value("foo") = "nope"'], [], ['put d 1', 'del d']), code: 1 },
        { args: ['txn'], stdin: txn([], ['del t/ --prefix', 'put t/9 x'], []), code: 1 },
        { args: ['txn'], stdin: txn([], ['put t/1 x', 'del t/0 t/2'], []), code: 1 },
        { args: ['get', 't/', '--prefix', '-w', 'json'] }, // refused txns wrote nothing
        { args: ['txn'], stdin: 'bogus\n\n\n', code: 3 }, // etcdctl's own parse error
      ]);
    });

    describe('del', () => {
      defineSteps([
        { args: ['del', 'zz'] }, // rev 23
        { args: ['del', 'zz'] }, // nothing deleted: no new revision
        { args: ['del', 'foo/c', '--prev-kv'] }, // rev 24
        { args: ['del', 'missing', '--prev-kv', '-w', 'fields'] },
        { args: ['del', 't/', '--prefix', '--prev-kv', '-w', 'json'] }, // rev 25
        { args: ['del', '--from-key', 'fop', '-w', 'json'] }, // rev 26
        { args: ['del', ''], code: 1 },
        { args: ['get', '', '--from-key', '-w', 'json'] },
      ]);
    });

    describe('compaction', () => {
      defineSteps([
        { args: ['get', 'foo/a', '--rev=9'] },
        { args: ['compaction', '10'] },
        { args: ['get', 'foo/a', '--rev=9'], code: 1 }, // compacted
        { args: ['get', 'foo/', '--prefix', '--rev=10'] }, // the compact revision itself stays readable
        { args: ['get', 'foo/', '--prefix', '--rev=10', '-w', 'json'] },
        { args: ['compaction', '10'], code: 1 }, // again: already compacted
        { args: ['compaction', '5'], code: 1 },
        { args: ['compaction', '1000'], code: 1 }, // a future revision
        { args: ['compaction', '--physical', '20'] },
        { args: ['get', 'foo/a', '--rev=19'], code: 1 },
        { args: ['get', '', '--from-key', '--rev=20', '-w', 'json'] },
        { args: ['get', '', '--from-key', '-w', 'json'] },
      ]);
    });

    describe('endpoint status and member list', () => {
      /**
       * Status fields that differ between any two clusters: ID, version, database size, raft term and
       * index. They are masked by position, so a field that is missing or extra still shows.
       */
      function scrubStatus(text: string): string {
        const masks: Record<number, string> = { 1: '<id>', 2: '<version>', 3: '<db-size>', 6: '<term>', 7: '<index>', 8: '<applied>' };
        return text
          .replace(/"(version|Version)"( ?: ?)"[^"]*"/g, '"$1"$2<version>')
          .replace(/"(dbSize|dbSizeInUse|DBSize|raftIndex|RaftIndex|raftAppliedIndex|RaftAppliedIndex|raftTerm)"( ?: ?)\d+/g, '"$1"$2<n>')
          .replace(/"(leader|Leader)"( ?: ?)\d+/g, '"$1"$2<member_id>')
          .split('\n')
          .map((line) => {
            const cells = line.startsWith('|') ? line.split('|').map((c) => c.trim()) : line.split(', ');
            const offset = line.startsWith('|') ? 1 : 0; // a table row starts with an empty cell
            if (cells.length < 10 || cells[offset] !== '<endpoint>') return line; // scrub() has masked it
            return cells.map((c, i) => masks[i - offset] ?? c).join(', ');
          })
          .join('\n');
      }

      /** The member ID, in decimal (json, fields) and in hex (simple, table), and the peer URL. */
      function scrubMembers(text: string, decimalId: string, peerPort: number): string {
        const hex = BigInt(decimalId).toString(16);
        return text.split(`http://127.0.0.1:${peerPort}`).join('<peer-url>').split(decimalId).join('<id>').split(hex).join('<id>');
      }

      // Tables pad columns to the widest cell, and IDs differ in length.
      const collapse = (text: string) => text.replace(/-{2,}/g, '-').replace(/ {2,}/g, ' ');

      for (const format of ['simple', 'json', 'fields', 'table']) {
        it(`etcdctl endpoint status -w ${format}`, async () => {
          const r = await onBoth(['endpoint', 'status', '-w', format]);
          assert.equal(r.etcd.code, 0, r.etcd.stderr);
          const shape = (res: CtlResult, m: MemberProcess) => {
            const n = normalise(res, m);
            return { ...n, stdout: collapse(scrubStatus(n.stdout)) };
          };
          assert.deepEqual(shape(r.keel, keel), shape(r.etcd, etcd));
        });

        it(`etcdctl member list -w ${format}`, async () => {
          // The simple and table formats print the ID in hex; take it from the json answer.
          const ids = await onBoth(['member', 'list', '-w', 'json']);
          const r = await onBoth(['member', 'list', '-w', format]);
          assert.equal(r.etcd.code, 0, r.etcd.stderr);
          const shape = (res: CtlResult, json: CtlResult, m: MemberProcess, peerPort: number) => {
            const decimal = /"ID":(\d+)/.exec(json.stdout)?.[1];
            assert.ok(decimal, `no member ID in ${json.stdout}`);
            const n = normalise(res, m);
            return { ...n, stdout: collapse(scrubMembers(n.stdout, decimal, peerPort)) };
          };
          assert.deepEqual(shape(r.keel, ids.keel, keel, keelPeerPort), shape(r.etcd, ids.etcd, etcd, etcdPeerPort));
        });
      }
    });
  });

  describe('a fresh member started with the same identity flags as an etcd member', () => {
    // etcd derives the member ID from the peer URLs and the cluster token (SHA-1), and the cluster ID
    // from the member IDs, so the same flags must give the same IDs. The two members run one after
    // the other with the same peer URL string, so the peer port is never bound twice.
    interface Seen {
      memberId: string;
      clusterId: string;
      headerMemberId: string;
      statusClusterId: string;
      statusMemberId: string;
      statusLeader: string;
      memberListLine: string;
      /** Every field path of `endpoint status -w json` (etcd omits zero values, so presence matters). */
      statusFields: string[];
    }
    let fromEtcd: Seen;
    let fromKeel: Seen;

    const fieldPaths = (value: unknown, path = ''): string[] =>
      typeof value === 'object' && value !== null
        ? Object.entries(value).flatMap(([k, v]) => fieldPaths(v, Array.isArray(value) ? path : `${path}.${k}`))
        : [path];

    const observe = async (start: typeof startKeel, sub: string, peerPort: number): Promise<Seen> => {
      const m = await start({ baseDir: join(dir, sub), name: 'ident', peerPort, extraArgs: ['--initial-cluster-token', 'keel-compat-token'] });
      running.push(m);
      try {
        const members = await etcdctl(m.endpoint, ['member', 'list', '-w', 'json']);
        const status = await etcdctl(m.endpoint, ['endpoint', 'status', '-w', 'json']);
        const simple = await etcdctl(m.endpoint, ['member', 'list']);
        for (const r of [members, status, simple]) assert.equal(r.code, 0, r.stderr);
        // uint64 IDs do not fit a JavaScript number: read them as text.
        const field = (text: string, name: string) => {
          const value = new RegExp(`"${name}":(\\d+)`).exec(text)?.[1];
          assert.ok(value, `no ${name} in ${text}`);
          return value;
        };
        return {
          memberId: field(members.stdout, 'ID'),
          clusterId: field(members.stdout, 'cluster_id'),
          headerMemberId: field(members.stdout, 'member_id'),
          statusClusterId: field(status.stdout, 'cluster_id'),
          statusMemberId: field(status.stdout, 'member_id'),
          statusLeader: field(status.stdout, 'leader'),
          memberListLine: simple.stdout.split(`http://${m.endpoint}`).join('<client-url>'),
          statusFields: fieldPaths(JSON.parse(status.stdout)).sort(),
        };
      } finally {
        await m.stop();
      }
    };

    before(async () => {
      const peerPort = await freePort();
      fromEtcd = await observe(startEtcd, 'ident-etcd', peerPort);
      fromKeel = await observe(startKeel, 'ident-keel', peerPort);
    });

    it('gets the same member ID and cluster ID as etcd', () => {
      const ids = ({ statusFields: _, ...rest }: Seen) => rest;
      assert.deepEqual(ids(fromKeel), ids(fromEtcd));
      // The member reports itself consistently, and as the leader of its one-member cluster.
      assert.equal(fromKeel.headerMemberId, fromKeel.memberId);
      assert.equal(fromKeel.statusLeader, fromKeel.memberId);
    });

    it('reports the same status fields as etcd before any write (revision, raft index)', () => {
      assert.deepEqual(fromKeel.statusFields, fromEtcd.statusFields);
    });
  });
});
