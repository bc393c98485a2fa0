import { ServiceError, status } from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdClient } from '../src/client/etcd-client';
import { eventually } from '../src/util/eventually';
import type { StatusResponse__Output } from '../src/generated/etcdserverpb/StatusResponse';
import { etcdctl } from './support/etcdctl';
import { MemberProcess, startCluster } from './support/member-process';

/**
 * A three-member Keel cluster of real processes on loopback: replication through any member,
 * failover after kill -9 of the leader under a recorded write load, catch-up from the log and by
 * snapshot, loss of quorum, the real etcdctl against one and all members, and a paused follower.
 *
 * Every test starts its own cluster in its own temp dir; afterEach stops every process the test
 * started (restarted ones included) and removes the dir, or keeps it and prints its path if the
 * test failed.
 */

const HEARTBEAT_MS = 50;
const ELECTION_MS = 500;
const FAST_ELECTIONS = ['--heartbeat-interval', String(HEARTBEAT_MS), '--election-timeout', String(ELECTION_MS)];
/** etcd's (and Keel's) request timeout: a write that cannot commit fails after this long. */
const REQUEST_TIMEOUT_MS = 5000 + 2 * ELECTION_MS;
/**
 * Client deadline for writes, well past the server's request timeout, so that a server that hangs
 * shows up as DEADLINE_EXCEEDED (a failure) rather than being mistaken for the server's own timeout.
 */
const CLIENT_TIMEOUT_MS = REQUEST_TIMEOUT_MS + 5000;
/** Entries a leader keeps behind a snapshot (etcd's SnapshotCatchUpEntries; Keel uses the same). */
const SNAPSHOT_CATCH_UP_ENTRIES = 5000;

const b = (s: string) => Buffer.from(s);
const num = (s: string | undefined, what: string): number => {
  assert.ok(s !== undefined, `${what} is missing`);
  return Number(s);
};

/** {key, range_end} covering every key that starts with `prefix` (etcdctl's --prefix). */
function prefixRange(prefix: string): { key: Buffer; range_end: Buffer } {
  const end = b(prefix);
  end[end.length - 1]! += 1;
  return { key: b(prefix), range_end: end };
}

/** Awaits a call that must fail; returns its gRPC error (fails the test if it succeeded). */
async function failureOf(call: Promise<unknown>): Promise<ServiceError> {
  try {
    await call;
  } catch (err) {
    return err as ServiceError;
  }
  assert.fail('the call succeeded, but it had to fail');
}

/** The two answers etcd gives to a write that cannot commit. */
const CANNOT_COMMIT = ['etcdserver: request timed out', 'etcdserver: no leader'];

/** One put acknowledged to a writer of the load. */
interface Ack {
  writer: number;
  seq: number;
  key: string;
  value: string;
  revision: number;
  startedAt: number;
}

/** A put that failed: it may or may not have happened. */
interface Failed {
  key: string;
  value: string;
  startedAt: number;
  code: number | undefined;
  details: string;
}

/**
 * `writers` concurrent writers, each putting its own keys `${prefix}w<n>/<seq>` one after another
 * through `client`, recording every acknowledgement and every failure.
 */
class WriteLoad {
  readonly acks: Ack[] = [];
  readonly failures: Failed[] = [];
  private stopping = false;
  private readonly done: Promise<void>;

  constructor(private readonly client: EtcdClient, writers: number, private readonly prefix: string) {
    this.done = Promise.all(Array.from({ length: writers }, (_, w) => this.writer(w))).then(() => undefined);
  }

  private async writer(writer: number): Promise<void> {
    for (let seq = 0; !this.stopping; seq++) {
      const key = `${this.prefix}w${writer}/${String(seq).padStart(6, '0')}`;
      const value = `w${writer}-${seq}`;
      const startedAt = Date.now();
      try {
        const put = await this.client.put({ key: b(key), value: b(value) });
        this.acks.push({ writer, seq, key, value, revision: num(put.header?.revision, 'put header revision'), startedAt });
      } catch (err) {
        const e = err as ServiceError;
        this.failures.push({ key, value, startedAt, code: e.code, details: e.details ?? e.message });
        // Without a leader a member refuses at once; do not spin on it.
        await new Promise((r) => setTimeout(r, HEARTBEAT_MS));
      }
    }
  }

  /** Acknowledged puts that were sent after `t` (ms since the epoch). */
  ackedSince(t: number): number {
    return this.acks.filter((a) => a.startedAt > t).length;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.done;
  }
}

/** The processes and clients of one test; `close()` stops and closes everything it handed out. */
class TestCluster {
  /** The current process of m1..m3 (replaced by restart()). */
  readonly members: MemberProcess[];
  /** Every process ever started, restarted ones included, so that close() stops them all. */
  private readonly processes: MemberProcess[];
  private readonly clients: EtcdClient[] = [];

  constructor(members: MemberProcess[]) {
    this.members = [...members];
    this.processes = [...members];
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.endpoint);
  }

  /** A new client of member i (0-based); closed by close(). */
  client(i: number, commandTimeoutMs = CLIENT_TIMEOUT_MS): EtcdClient {
    const c = new EtcdClient(this.members[i]!.endpoint, { commandTimeoutMs });
    this.clients.push(c);
    return c;
  }

  async status(i: number): Promise<StatusResponse__Output> {
    const c = new EtcdClient(this.members[i]!.endpoint, { commandTimeoutMs: 1000 });
    try {
      return await c.status();
    } finally {
      c.close();
    }
  }

  /** The member's ID as a decimal string, as Status reports it in its header. */
  async memberId(i: number): Promise<string> {
    return (await this.status(i)).header!.member_id;
  }

  /**
   * Waits until one of `among` (indexes) says it is the leader and every other member of `among`
   * follows it, and returns its index. A member that still names a dead leader does not count.
   */
  async leader(among = [0, 1, 2], timeoutMs = 15_000): Promise<number> {
    let found = -1;
    await eventually(`a leader that ${among.map((i) => `m${i + 1}`).join(', ')} agree on`, async () => {
      const statuses = await Promise.all(among.map((i) => this.status(i)));
      const self = statuses.findIndex((s) => s.leader !== '0' && s.leader === s.header!.member_id);
      if (self < 0 || !statuses.every((s) => s.leader === statuses[self]!.leader)) return false;
      found = among[self]!;
      return true;
    }, timeoutMs);
    return found;
  }

  /** Starts member i again from its data dir (it must have exited). */
  async restart(i: number): Promise<MemberProcess> {
    const m = await this.members[i]!.restart();
    this.members[i] = m;
    this.processes.push(m);
    return m;
  }

  /** Waits until member i has applied exactly as far as member `leader`, compared in one poll. */
  async caughtUp(i: number, leader: number, timeoutMs = 15_000): Promise<void> {
    let last = '';
    await eventually(`m${i + 1} applying as far as the leader m${leader + 1}`, async () => {
      const [mine, theirs] = await Promise.all([this.status(i), this.status(leader)]);
      last = `m${i + 1} applied ${mine.raftAppliedIndex}, leader ${theirs.raftAppliedIndex}`;
      return mine.raftAppliedIndex === theirs.raftAppliedIndex;
    }, timeoutMs).catch((err: Error) => {
      throw new Error(`${err.message}; last seen: ${last}`);
    });
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.close();
    await Promise.all(this.processes.map(async (m) => {
      m.resume(); // a SIGSTOPped process would never handle the SIGTERM
      const stopped = m.stop();
      const timer = new Promise<'late'>((r) => setTimeout(() => r('late'), 10_000).unref());
      if ((await Promise.race([stopped, timer])) === 'late') await m.kill9();
    }));
  }
}

describe('a three-member keel cluster (real processes)', function () {
  this.timeout(120_000);
  let dir: string | undefined;
  let cluster: TestCluster | undefined;

  /** Starts m1..m3 in a fresh temp dir with fast elections (plus `extraArgs`). */
  async function start(extraArgs: string[] = []): Promise<TestCluster> {
    const base = await mkdtemp(join(tmpdir(), 'keel-three-'));
    dir = base;
    const started = await startCluster('keel', base, 3, [...FAST_ELECTIONS, ...extraArgs]);
    cluster = new TestCluster(started.members);
    return cluster;
  }

  afterEach(async function () {
    await cluster?.close();
    cluster = undefined;
    if (dir === undefined) return;
    if (this.currentTest?.state === 'failed') console.log(`    three-member: keeping ${dir} (member logs and data) for inspection`);
    else await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('makes a write through any member visible through every member; serializable reads converge', async () => {
    const c = await start();
    const clients = [0, 1, 2].map((i) => c.client(i));
    let previous = 0;
    for (const [i, writer] of clients.entries()) {
      const put = await writer.put({ key: b(`any/${i}`), value: b(`via-m${i + 1}`) });
      const revision = num(put.header?.revision, 'put revision');
      // One revision sequence for the whole cluster, whichever member takes the write.
      assert.ok(revision > previous, `put through m${i + 1} got revision ${revision}, not above ${previous}`);
      previous = revision;
      // Linearizable reads: once acknowledged anywhere, the write is visible everywhere at once (no polling).
      for (const [j, reader] of clients.entries()) {
        const got = await reader.range({ key: b(`any/${i}`) });
        assert.equal(got.kvs[0]?.value.toString(), `via-m${i + 1}`, `m${j + 1} does not see the put acknowledged by m${i + 1}`);
        assert.equal(num(got.kvs[0]!.mod_revision, 'mod_revision'), revision, `mod_revision of any/${i} read through m${j + 1}`);
        assert.ok(num(got.header?.revision, 'range revision') >= revision, `m${j + 1} answered from revision ${got.header?.revision} < ${revision}`);
      }
    }
    // A conditional txn through one follower-or-leader and a delete through another.
    const txn = await clients[1]!.txn({
      compare: [{ key: b('any/0'), target: 'VALUE', result: 'EQUAL', value: b('via-m1') }],
      success: [{ request_put: { key: b('any/0'), value: b('txn-m2') } }],
    });
    assert.equal(txn.succeeded, true);
    const del = await clients[2]!.deleteRange({ key: b('any/1') });
    assert.equal(del.deleted, '1');
    const expected = ['any/0=txn-m2', 'any/2=via-m3'];
    for (const [j, reader] of clients.entries()) {
      const all = await reader.range(prefixRange('any/'));
      assert.deepEqual(all.kvs.map((kv) => `${kv.key}=${kv.value}`), expected, `linearizable read through m${j + 1}`);
    }
    // Serializable reads are served from each member's own applied state: they may lag, but must
    // converge to the same kvs at the same revision.
    const reference = await clients[0]!.range(prefixRange('any/'));
    for (const [j, reader] of clients.entries()) {
      await eventually(`m${j + 1}'s serializable read converging`, async () => {
        const r = await reader.range({ ...prefixRange('any/'), serializable: true });
        return r.header?.revision === reference.header?.revision
          && JSON.stringify(r.kvs) === JSON.stringify(reference.kvs);
      }, 5000);
    }
  });

  it('fails over after kill -9 of the leader under a write load and loses no acknowledged write', async () => {
    const c = await start();
    const oldLeader = await c.leader();
    const oldLeaderId = await c.memberId(oldLeader);
    const survivors = [0, 1, 2].filter((i) => i !== oldLeader);
    const via = survivors[0]!; // the load goes through a follower that survives
    const load = new WriteLoad(c.client(via), 8, 'load/');
    let loadStopped = false;
    try {
      await eventually('200 acknowledged writes before the kill', async () => load.acks.length >= 200, 15_000);
      assert.equal(load.failures.length, 0, `writes failed before the kill: ${JSON.stringify(load.failures.slice(0, 3))}`);

      const killedAt = Date.now();
      await c.members[oldLeader]!.kill9();
      // A new leader: both survivors follow the same member, and it is not the dead one.
      let newLeader = -1;
      await eventually('a new leader among the survivors', async () => {
        const s = await Promise.all(survivors.map((i) => c.status(i)));
        const lead = s[0]!.leader;
        if (lead === '0' || lead === oldLeaderId || s[1]!.leader !== lead) return false;
        const at = s.findIndex((x) => x.header!.member_id === lead);
        if (at < 0) return false;
        newLeader = survivors[at]!;
        return true;
      }, 10 * ELECTION_MS + 5000, 10);
      const electionMs = Date.now() - killedAt;
      console.log(`    new leader m${newLeader + 1} elected ${electionMs} ms after the kill -9 of m${oldLeader + 1}`);
      // A correctness bound (followers notice the silence after an election timeout, then campaign),
      // not a performance target.
      assert.ok(electionMs < 10 * ELECTION_MS, `the new leader took ${electionMs} ms (election timeout ${ELECTION_MS} ms)`);

      // Writes continue: requests sent after the election are acknowledged. Requests that were in
      // flight at the kill may take up to the request timeout to fail, hence the bound.
      const electedAt = Date.now();
      await eventually('200 acknowledged writes sent after the new leader was elected',
        async () => load.ackedSince(electedAt) >= 200, REQUEST_TIMEOUT_MS + 15_000);
      await load.stop();
      loadStopped = true;
    } finally {
      if (!loadStopped) await load.stop();
    }

    // Failures are etcd's UNAVAILABLE answers (a write lost with the leader, or no leader yet).
    for (const f of load.failures) {
      assert.equal(f.code, status.UNAVAILABLE, `a write failed with ${f.code} ${f.details}`);
    }
    console.log(`    ${load.acks.length} writes acknowledged, ${load.failures.length} failed (may have happened)`);

    // Revisions never repeat; and a writer's later put got a later revision (its puts are sequential).
    const byRevision = new Map<number, Ack>();
    for (const a of load.acks) {
      const other = byRevision.get(a.revision);
      assert.equal(other, undefined, `${a.key} and ${other?.key} were both acknowledged at revision ${a.revision}`);
      byRevision.set(a.revision, a);
    }
    const lastOfWriter = new Map<number, Ack>();
    for (const a of [...load.acks].sort((x, y) => x.seq - y.seq)) {
      const before = lastOfWriter.get(a.writer);
      if (before) assert.ok(a.revision > before.revision, `${a.key} got revision ${a.revision}, after ${before.key} got ${before.revision}`);
      lastOfWriter.set(a.writer, a);
    }

    // Every acknowledged write is there with its value and its revision, read through both survivors;
    // a failed one is either absent or has exactly the value it tried to write; nothing else exists.
    const attempted = new Map<string, string>([...load.failures, ...load.acks].map((w) => [w.key, w.value]));
    for (const i of survivors) {
      const all = await c.client(i).range(prefixRange('load/'));
      const stored = new Map(all.kvs.map((kv) => [kv.key.toString(), kv]));
      for (const a of load.acks) {
        const kv = stored.get(a.key);
        assert.ok(kv, `m${i + 1} lost ${a.key}=${a.value}, acknowledged at revision ${a.revision}`);
        assert.equal(kv.value.toString(), a.value, `value of ${a.key} through m${i + 1}`);
        assert.equal(num(kv.mod_revision, 'mod_revision'), a.revision, `mod_revision of ${a.key} through m${i + 1}`);
      }
      for (const [key, kv] of stored) {
        assert.equal(kv.value.toString(), attempted.get(key), `m${i + 1} holds ${key}=${kv.value}, which nobody wrote`);
      }
    }
  });

  it('restarts a killed leader, which catches up from the log', async () => {
    const c = await start();
    const killed = await c.leader();
    const before = c.client(killed);
    for (let i = 0; i < 100; i++) await before.put({ key: b(`log/${String(i).padStart(3, '0')}`), value: b(`before-${i}`) });
    await c.members[killed]!.kill9();

    const survivors = [0, 1, 2].filter((i) => i !== killed);
    const leader = await c.leader(survivors);
    const writer = c.client(leader);
    for (let i = 100; i < 300; i++) await writer.put({ key: b(`log/${String(i).padStart(3, '0')}`), value: b(`after-${i}`) });
    const expected = (await writer.range(prefixRange('log/'))).kvs;
    assert.equal(expected.length, 300);

    await c.restart(killed);
    const restarted = c.client(killed, 2000);
    await eventually(`the restarted m${killed + 1} serving all 300 keys (serializable)`, async () => {
      const r = await restarted.range({ ...prefixRange('log/'), serializable: true });
      return JSON.stringify(r.kvs) === JSON.stringify(expected);
    });
    await c.caughtUp(killed, await c.leader());
    // The default --snapshot-count (100000) never compacts this short log: the entries came from it.
    const log = await readFile(c.members[killed]!.logFile, 'utf8');
    assert.ok(!log.includes('installed snapshot from the leader'), 'the member caught up by a snapshot, not from the log');
    // A full member again: it takes writes and serves linearizable reads.
    const put = await c.client(killed).put({ key: b('log/after-restart'), value: b('x') });
    const read = await c.client(leader).range({ key: b('log/after-restart') });
    assert.equal(read.kvs[0]?.mod_revision, put.header?.revision);
  });

  it('catches up a follower by snapshot once the log it missed is compacted', async () => {
    const c = await start(['--snapshot-count', '50']);
    const leader = await c.leader();
    const lagging = [0, 1, 2].find((i) => i !== leader)!;
    await c.members[lagging]!.stop();

    // The leader keeps SNAPSHOT_CATCH_UP_ENTRIES entries behind each snapshot (like etcd), so the
    // follower must miss more than that for its next entry to be compacted away: a few hundred
    // writes would still be served from the log.
    const keys = SNAPSHOT_CATCH_UP_ENTRIES + 1000;
    const writer = c.client(leader);
    let next = 0;
    await Promise.all(Array.from({ length: 64 }, async () => {
      for (let i = next++; i < keys; i = next++) await writer.put({ key: b(`snap/${String(i).padStart(5, '0')}`), value: b(`v${i}`) });
    }));
    const expected = (await writer.range(prefixRange('snap/'))).kvs;
    assert.equal(expected.length, keys);

    await c.restart(lagging);
    const restarted = c.client(lagging, 5000);
    await eventually(`the restarted m${lagging + 1} serving all ${keys} keys (serializable)`, async () => {
      const r = await restarted.range({ ...prefixRange('snap/'), count_only: true, serializable: true });
      return r.count === String(keys);
    }, 30_000, 100);
    const got = await restarted.range({ ...prefixRange('snap/'), serializable: true });
    assert.deepEqual(got.kvs, expected, 'the caught-up follower holds different kvs than the leader');
    await c.caughtUp(lagging, leader);
    const log = await readFile(c.members[lagging]!.logFile, 'utf8');
    assert.ok(log.includes('installed snapshot from the leader'), `m${lagging + 1} did not install a snapshot; see ${c.members[lagging]!.logFile}`);
    // It keeps up normally afterwards.
    const put = await writer.put({ key: b('snap/after'), value: b('y') });
    await eventually(`m${lagging + 1} applying a write made after the snapshot`, async () => {
      const r = await restarted.range({ key: b('snap/after'), serializable: true });
      return r.kvs[0]?.mod_revision === put.header?.revision;
    }, 5000);
  });

  it('fails a write clearly without quorum, within the request timeout, and resumes with two members', async () => {
    const c = await start();
    const survivor = await c.leader(); // the hardest case: the survivor believes it leads at first
    const [a, b2] = [0, 1, 2].filter((i) => i !== survivor) as [number, number];
    const client = c.client(survivor);
    await client.put({ key: b('quorum/before'), value: b('1') });
    await Promise.all([c.members[a]!.kill9(), c.members[b2]!.kill9()]);

    const sentAt = Date.now();
    const err = await failureOf(client.put({ key: b('quorum/lost'), value: b('2') }));
    const tookMs = Date.now() - sentAt;
    console.log(`    write without quorum failed after ${tookMs} ms: ${err.code} ${err.details}`);
    assert.equal(err.code, status.UNAVAILABLE, `expected UNAVAILABLE, got ${err.code} ${err.details}`);
    assert.ok(CANNOT_COMMIT.includes(err.details), `unexpected message: ${err.details}`);
    // The server's own timeout, not the client's deadline (which would be DEADLINE_EXCEEDED anyway).
    assert.ok(tookMs <= REQUEST_TIMEOUT_MS + 1500, `the write took ${tookMs} ms to fail; the request timeout is ${REQUEST_TIMEOUT_MS} ms`);
    // The survivor still serves what it has, serializably.
    const local = await client.range({ key: b('quorum/before'), serializable: true });
    assert.equal(local.kvs[0]?.value.toString(), '1');

    await c.restart(a);
    const leader = await c.leader([survivor, a]);
    const put = await c.client(survivor).put({ key: b('quorum/back'), value: b('3') });
    const putViaRestarted = await c.client(a).put({ key: b('quorum/back2'), value: b('4') });
    assert.ok(num(putViaRestarted.header?.revision, 'revision') > num(put.header?.revision, 'revision'));
    for (const i of [survivor, a]) {
      const r = await c.client(i).range(prefixRange('quorum/back'));
      assert.deepEqual(r.kvs.map((kv) => `${kv.key}=${kv.value}`), ['quorum/back=3', 'quorum/back2=4'], `read through m${i + 1} (leader m${leader + 1})`);
    }
  });

  it('works with the real etcdctl against one member and against all three', async () => {
    const c = await start();
    const all = c.endpoints.join(',');
    for (const [name, endpoints] of [['one member', c.endpoints[1]!], ['all members', all]] as const) {
      const ctl = async (args: string[], stdin?: string) => {
        const r = await etcdctl(endpoints, args, stdin === undefined ? {} : { stdin });
        assert.equal(r.code, 0, `etcdctl ${args.join(' ')} against ${name} exited ${r.code}: ${r.stderr}`);
        return r.stdout;
      };
      assert.equal(await ctl(['put', 'ctl/k', 'v1']), 'OK\n', name);
      assert.equal(await ctl(['get', 'ctl/k']), 'ctl/k\nv1\n', name);
      // Non-interactive txn: compares, blank line, success ops, blank line, failure ops.
      const txn = 'value("ctl/k") = "v1"\n\nput ctl/k v2\nput ctl/other o\n\nput ctl/k failed\n\n';
      assert.equal(await ctl(['txn'], txn), 'SUCCESS\n\nOK\n\nOK\n', name);
      assert.equal(await ctl(['get', '--prefix', 'ctl/']), 'ctl/k\nv2\nctl/other\no\n', name);
      assert.equal(await ctl(['txn'], txn), 'FAILURE\n\nOK\n', name);
      assert.equal(await ctl(['get', 'ctl/k', '--print-value-only']), 'failed\n', name);
      assert.equal(await ctl(['del', '--prefix', 'ctl/']), '2\n', name);
      assert.equal(await ctl(['get', '--prefix', 'ctl/']), '', name);
    }

    interface EndpointStatus {
      Endpoint: string;
      Status: { header: { member_id: string }; leader: string; raftIndex: string; raftAppliedIndex: string };
    }
    let last = '';
    await eventually('etcdctl endpoint status showing one leader and equal raftIndex on all members', async () => {
      const r = await etcdctl(all, ['endpoint', 'status', '-w', 'json']);
      assert.equal(r.code, 0, r.stderr);
      last = r.stdout;
      // Member IDs are uint64 and printed as JSON numbers: quote them before JSON.parse rounds them.
      const statuses = JSON.parse(r.stdout.replace(/:(\d{10,})/g, ':"$1"'), (_k, v: unknown) => (typeof v === 'number' ? String(v) : v)) as EndpointStatus[];
      assert.deepEqual(statuses.map((s) => s.Endpoint).sort(), [...c.endpoints].sort());
      assert.equal(new Set(statuses.map((s) => s.Status.header.member_id)).size, 3, 'three distinct member IDs');
      const leaders = statuses.filter((s) => s.Status.leader === s.Status.header.member_id);
      assert.equal(leaders.length, 1, `exactly one member must be its own leader: ${r.stdout}`);
      assert.ok(statuses.every((s) => s.Status.leader === leaders[0]!.Status.leader), `members disagree on the leader: ${r.stdout}`);
      return statuses.every((s) => s.Status.raftIndex === statuses[0]!.Status.raftIndex);
    }, 10_000, 100).catch((err: Error) => {
      throw new Error(`${err.message}; last output: ${last}`);
    });
  });

  it('keeps writing while a follower is paused (SIGSTOP); resumed, the follower catches up', async () => {
    const c = await start();
    const leader = await c.leader();
    const [paused, other] = [0, 1, 2].filter((i) => i !== leader) as [number, number];
    const termBefore = (await c.status(leader)).raftTerm;
    c.members[paused]!.pause();
    const pausedAt = Date.now();
    try {
      // Write through the leader and the other follower, for at least a few election timeouts, so
      // that the paused member misses heartbeats and entries for longer than it may go unheard.
      const writers = [c.client(leader), c.client(other)];
      let written = 0;
      while (written < 200 || Date.now() - pausedAt < 4 * ELECTION_MS) {
        const sentAt = Date.now();
        const w = written++;
        await writers[w % 2]!.put({ key: b(`pause/${String(w).padStart(4, '0')}`), value: b(`v${w}`) });
        // A write waiting for the paused member would stall until the request timeout.
        const took = Date.now() - sentAt;
        assert.ok(took < 2000, `write ${w} took ${took} ms with one follower paused`);
      }
      const expected = (await writers[1]!.range(prefixRange('pause/'))).kvs;
      assert.equal(expected.length, written);

      c.members[paused]!.resume();
      const resumed = c.client(paused, 2000);
      await eventually(`the resumed m${paused + 1} serving all ${written} keys (serializable)`, async () => {
        const r = await resumed.range({ ...prefixRange('pause/'), serializable: true });
        return JSON.stringify(r.kvs) === JSON.stringify(expected);
      });
      await c.caughtUp(paused, leader);
      // With pre-vote and check-quorum, a follower that comes back does not depose a working leader.
      const after = await c.status(leader);
      assert.equal(after.leader, after.header!.member_id, `m${leader + 1} lost the leadership when m${paused + 1} came back`);
      assert.equal(after.raftTerm, termBefore, 'the term changed: the resumed follower forced an election');
    } finally {
      c.members[paused]!.resume();
    }
  });
});
