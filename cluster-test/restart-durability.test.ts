import { ServiceError, status } from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdClient } from '../src/client/etcd-client';
import { freePort, MemberProcess, startKeel } from './support/member-process';

/**
 * A keel member must keep every write it acknowledged across a restart, whether it was stopped
 * cleanly or killed with SIGKILL in the middle of a load: each acknowledged write stays readable at
 * its revision, and the revision counter never goes back (no revision is handed out twice).
 */

/** One acknowledged write request; a txn acknowledges several puts at one revision. */
type Ack =
  | { request: number; kind: 'put'; key: string; value: string; revision: number }
  | { request: number; kind: 'delete'; key: string; revision: number; deleted: number };

type Op =
  | { kind: 'put'; key: string; value: string }
  | { kind: 'delete'; key: string }
  | { kind: 'txn'; puts: Array<{ key: string; value: string }> };

const KEYS = 257; // fewer keys than writes, so most keys have many versions to read back

/** 2,000 puts, 200 deletes and 200 two-key txns, interleaved, over a small key space. */
function workload(size = 2400): Op[] {
  const ops: Op[] = [];
  for (let i = 0; i < size; i++) {
    const key = `k/${String(i % KEYS).padStart(3, '0')}`;
    if (i % 12 === 5) ops.push({ kind: 'delete', key });
    else if (i % 12 === 11) {
      const other = `k/${String((i + 100) % KEYS).padStart(3, '0')}`;
      ops.push({ kind: 'txn', puts: [{ key, value: `txn-${i}-a` }, { key: other, value: `txn-${i}-b` }] });
    } else ops.push({ kind: 'put', key, value: `put-${i}` });
  }
  return ops;
}

const rev = (s: string | undefined): number => {
  assert.ok(s !== undefined, 'response without a header revision');
  return Number(s);
};

async function execute(client: EtcdClient, op: Op, request: number): Promise<Ack[]> {
  switch (op.kind) {
    case 'put': {
      const r = await client.put({ key: Buffer.from(op.key), value: Buffer.from(op.value) });
      return [{ request, kind: 'put', key: op.key, value: op.value, revision: rev(r.header?.revision) }];
    }
    case 'delete': {
      const r = await client.deleteRange({ key: Buffer.from(op.key) });
      return [{ request, kind: 'delete', key: op.key, revision: rev(r.header?.revision), deleted: Number(r.deleted) }];
    }
    case 'txn': {
      const r = await client.txn({
        success: op.puts.map((p) => ({ request_put: { key: Buffer.from(p.key), value: Buffer.from(p.value) } })),
      });
      assert.equal(r.succeeded, true);
      return op.puts.map((p) => ({ request, kind: 'put' as const, ...p, revision: rev(r.header?.revision) }));
    }
  }
}

interface RunResult {
  acks: Ack[];
  /** Requests still unanswered when the member was killed (0 if it was not). */
  inFlightAtKill: number;
}

/**
 * Runs `ops` with `concurrency` requests in flight. With `killAfter`, SIGKILLs the member as soon as
 * that many requests are acknowledged; requests failing after that are "maybe happened" and are not
 * recorded. Any failure before the kill fails the test.
 */
async function run(client: EtcdClient, ops: Op[], concurrency: number, member: MemberProcess, killAfter?: number): Promise<RunResult> {
  const acks: Ack[] = [];
  let next = 0;
  let acknowledged = 0;
  let inFlight = 0;
  let inFlightAtKill = 0;
  let killing: Promise<void> | undefined;
  const worker = async () => {
    while (killing === undefined && next < ops.length) {
      const request = next++;
      inFlight++;
      try {
        acks.push(...(await execute(client, ops[request]!, request)));
        acknowledged++;
      } catch (err) {
        if (killing === undefined) throw err;
      } finally {
        inFlight--;
      }
      if (killAfter !== undefined && killing === undefined && acknowledged >= killAfter) {
        inFlightAtKill = inFlight;
        killing = member.kill9();
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await killing;
  return { acks, inFlightAtKill };
}

/** Runs `fn` over `items` with at most `concurrency` calls at a time. */
async function eachLimited<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/** Every acknowledged write is visible at its revision, exactly as it was acknowledged. */
async function assertAcksReadable(client: EtcdClient, acks: Ack[]): Promise<void> {
  await eachLimited(acks, 50, async (ack) => {
    const at = await client.range({ key: Buffer.from(ack.key), revision: ack.revision });
    if (ack.kind === 'put') {
      assert.equal(at.kvs.length, 1, `put ${ack.key}=${ack.value} acknowledged at ${ack.revision} is not there`);
      assert.equal(at.kvs[0]!.value.toString(), ack.value, `${ack.key} at revision ${ack.revision}`);
      assert.equal(rev(at.kvs[0]!.mod_revision), ack.revision, `mod_revision of ${ack.key} at ${ack.revision}`);
    } else {
      assert.equal(at.kvs.length, 0, `${ack.key} is still there at revision ${ack.revision}, after its acknowledged delete`);
      if (ack.deleted > 0) {
        const before = await client.range({ key: Buffer.from(ack.key), revision: ack.revision - 1 });
        assert.equal(before.kvs.length, 1, `${ack.key} did not exist at ${ack.revision - 1}, yet its delete removed it`);
      }
    }
  });
}

/** A write request gets a revision of its own: two acknowledged writes never share one. */
function assertRevisionsUnique(acks: Ack[]): void {
  const owner = new Map<number, number>();
  for (const ack of acks) {
    if (ack.kind === 'delete' && ack.deleted === 0) continue; // deleting nothing writes no revision
    const seen = owner.get(ack.revision);
    assert.ok(seen === undefined || seen === ack.request, `requests ${seen} and ${ack.request} both got revision ${ack.revision}`);
    owner.set(ack.revision, ack.request);
  }
}

const maxRevision = (acks: Ack[]) => acks.reduce((m, a) => Math.max(m, a.revision), 0);

async function currentRevision(client: EtcdClient): Promise<number> {
  return rev((await client.range({ key: Buffer.from('any') })).header?.revision);
}

/** The next write must take the next revision: nothing the member handed out before is reused. */
async function assertNextWriteIsNext(client: EtcdClient, afterRevision: number): Promise<void> {
  const put = await client.put({ key: Buffer.from('after-restart'), value: Buffer.from('x') });
  assert.equal(rev(put.header?.revision), afterRevision + 1);
  const read = await client.range({ key: Buffer.from('after-restart') });
  assert.equal(rev(read.kvs[0]?.mod_revision), afterRevision + 1);
}

async function assertCompacted(call: Promise<unknown>): Promise<void> {
  await assert.rejects(call, (err: ServiceError) => {
    assert.equal(err.code, status.OUT_OF_RANGE);
    assert.equal(err.details, 'etcdserver: mvcc: required revision has been compacted');
    return true;
  });
}

describe('keel restart durability', function () {
  this.timeout(120_000);
  let dir: string;
  let failed = false;
  let member: MemberProcess | undefined;
  let client: EtcdClient | undefined;

  /** Starts (or restarts) a member on fixed ports and a fixed data dir, and connects a fresh client. */
  async function start(name: string, ports: { clientPort: number; peerPort: number }): Promise<EtcdClient> {
    client?.close();
    member = await startKeel({ baseDir: dir, name, ...ports });
    client = new EtcdClient(member.endpoint);
    return client;
  }
  const freePorts = async () => ({ clientPort: await freePort(), peerPort: await freePort() });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-durability-'));
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') failed = true;
    client?.close();
    client = undefined;
    await member?.stop();
    member = undefined;
  });
  after(async () => {
    if (failed) console.log(`    restart-durability: keeping ${dir} (member logs and data) for inspection`);
    else await rm(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged write after a kill -9 in the middle of 2,400 concurrent writes', async () => {
    const ports = await freePorts();
    let c = await start('crash', ports);
    const crashed = member!;
    const { acks, inFlightAtKill } = await run(c, workload(), 50, crashed, 1800);
    // The point of the test: the member died with requests in flight, not between them.
    assert.ok(inFlightAtKill > 0, 'no request was in flight when the member was killed');
    assert.equal(crashed.process.signalCode, 'SIGKILL');
    assert.ok(acks.length >= 1800, `only ${acks.length} writes acknowledged`);
    assertRevisionsUnique(acks);

    c = await start('crash', ports);
    const highest = maxRevision(acks);
    const current = await currentRevision(c);
    assert.ok(current >= highest, `current revision ${current} is below the acknowledged ${highest}`);
    await assertAcksReadable(c, acks);
    await assertNextWriteIsNext(c, current);
  });

  it('keeps everything after a clean stop and start', async () => {
    const ports = await freePorts();
    let c = await start('clean', ports);
    const { acks } = await run(c, workload(600), 20, member!);
    assert.equal(new Set(acks.map((a) => a.request)).size, 600, 'every request is answered');
    assertRevisionsUnique(acks);
    const before = await currentRevision(c);
    // Every request was answered, so the store holds nothing beyond the acknowledged writes.
    assert.equal(before, maxRevision(acks));
    const all = await c.range({ key: Buffer.from([0]), range_end: Buffer.from([0]) });

    await member!.stop();
    c = await start('clean', ports);
    assert.equal(await currentRevision(c), before);
    await assertAcksReadable(c, acks);
    const allAfter = await c.range({ key: Buffer.from([0]), range_end: Buffer.from([0]) });
    assert.deepEqual(allAfter.kvs, all.kvs);
    await assertNextWriteIsNext(c, before);
  });

  it('keeps a compaction after a kill -9: reads below it still fail as compacted', async () => {
    const ports = await freePorts();
    let c = await start('compact', ports);
    const { acks } = await run(c, workload(300), 10, member!);
    const head = maxRevision(acks);
    const compactAt = Math.floor(head / 2);
    await c.compact({ revision: compactAt });
    await assertCompacted(c.range({ key: Buffer.from('k/001'), revision: compactAt - 1 }));
    const atCompactBefore = await c.range({ key: Buffer.from('k/'), range_end: Buffer.from('k0'), revision: compactAt });
    assert.ok(atCompactBefore.kvs.length > 0);

    await member!.kill9();
    c = await start('compact', ports);
    assert.equal(await currentRevision(c), head);
    await assertCompacted(c.range({ key: Buffer.from('k/001'), revision: compactAt - 1 }));
    await assertCompacted(c.range({ key: Buffer.from('k/'), range_end: Buffer.from('k0'), revision: 1 }));
    await assertCompacted(c.compact({ revision: compactAt }));
    // The compact revision itself and everything above it stay readable, unchanged.
    const atCompactAfter = await c.range({ key: Buffer.from('k/'), range_end: Buffer.from('k0'), revision: compactAt });
    assert.deepEqual(atCompactAfter.kvs, atCompactBefore.kvs);
    await assertAcksReadable(c, acks.filter((a) => a.revision > compactAt));
    await assertNextWriteIsNext(c, head);
  });
});
