import { type ServiceError, status } from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { failure, InProcessCluster, InProcessMember, startInProcessCluster } from '../cmd/in-process-member';
import type { WatchResponse__Output } from '../generated/etcdserverpb/WatchResponse';
import { eventually } from '../util/eventually';
import { ServerError } from './errors';

const b = (s: string) => Buffer.from(s);

describe('a three-member cluster in one process', function () {
  this.timeout(30_000);
  let c: InProcessCluster;
  afterEach(() => c.close());

  /** 6,000 puts through `leader` while `lagging` is cut off, then the network healed: with snapshotCount 20 it has to catch up by snapshot. */
  async function writeWhileCutOff(leader: InProcessMember, lagging: InProcessMember): Promise<void> {
    c.network.isolate(lagging.server.memberId);
    for (let i = 0; i < 6000; i += 200) {
      await Promise.all(Array.from({ length: 200 }, (_, j) => leader.client.put({ key: b(`key-${i + j}`), value: b('x') })));
    }
    c.network.heal();
  }

  it('replicates writes made through any member and serves linearizable reads everywhere', async () => {
    c = await startInProcessCluster(3);
    await c.leader();
    for (const [i, m] of c.members.entries()) await m.client.put({ key: b(`k${i}`), value: b(`v${i}`) });
    for (const m of c.members) {
      const r = await m.client.range({ key: b('k'), range_end: b('l') });
      assert.deepEqual(r.kvs.map((kv) => `${kv.key}=${kv.value}`), ['k0=v0', 'k1=v1', 'k2=v2']);
      assert.equal(r.header?.revision, '4');
    }
  });

  it('elects a new leader when the leader is cut off, and the old one cannot commit', async () => {
    c = await startInProcessCluster(3);
    const old = await c.leader();
    await old.client.put({ key: b('before'), value: b('1') });
    c.network.isolate(old.server.memberId);
    const others = c.members.filter((m) => m !== old);
    await eventually('a new leader', async () => others.some((m) => m.server.leader === m.server.memberId && m.server.leader !== 0n));
    const fresh = others.find((m) => m.server.leader === m.server.memberId)!;
    await fresh.client.put({ key: b('after'), value: b('2') });
    // A read on the isolated old leader cannot be linearizable: it times out instead of lying.
    const f = await failure(old.client.range({ key: b('after') }));
    assert.equal(f.code, status.UNAVAILABLE);
    c.network.heal();
    await eventually('the old leader catches up', async () =>
      (await old.client.range({ key: b('after'), serializable: true })).kvs.length === 1);
  });

  it('catches a member up with a snapshot once the log it missed is compacted', async () => {
    c = await startInProcessCluster(3, { snapshotCount: 20 });
    const leader = await c.leader();
    const lagging = c.members.find((m) => m !== leader)!;
    await writeWhileCutOff(leader, lagging);
    await eventually('the lagging member has every key', async () =>
      (await lagging.client.range({ key: b('key-'), range_end: b('key.'), count_only: true, serializable: true })).count === '6000',
    15_000);
    // Serializable reads see the snapshot's keys as soon as the store is reloaded, a moment before
    // the install finishes and says so: wait for the line (it never comes if the log was used).
    await eventually('the lagging member finishes installing the snapshot', () => lagging.logs.includes('installed snapshot from the leader'));
    await lagging.client.put({ key: b('after-snapshot'), value: b('y') });
    assert.equal((await leader.client.range({ key: b('after-snapshot') })).kvs.length, 1);
  });

  it('never answers a read below a revision it already answered while it installs a snapshot, and agrees after on whether the store was ever compacted', async function () {
    this.timeout(60_000); // thousands of puts, then a snapshot install, on a loaded machine took 22 s
    c = await startInProcessCluster(3, { snapshotCount: 20 });
    const leader = await c.leader();
    const lagging = c.members.find((m) => m !== leader)!;
    await leader.client.put({ key: b('key-early'), value: b('x') });
    await eventually('the lagging member has the first key', async () =>
      (await lagging.client.range({ key: b('key-early'), serializable: true })).kvs.length === 1);
    await writeWhileCutOff(leader, lagging);
    // Readers on the lagging member all through its install: the store was emptied to revision 1
    // while it reloaded, and answered so.
    const backwards: string[] = [];
    let installed = false;
    const reader = async () => {
      let highest = 0;
      while (!installed) {
        const r = await lagging.client.range({ key: b('key-'), range_end: b('key.'), count_only: true, serializable: true }).catch(() => undefined);
        const rev = Number(r?.header?.revision ?? 0);
        if (rev < highest) backwards.push(`revision ${rev} (count ${r?.count}) after ${highest}`);
        highest = Math.max(highest, rev);
      }
    };
    const readers = Array.from({ length: 4 }, reader);
    try {
      await eventually('the lagging member installs the snapshot', () => lagging.logs.includes('installed snapshot from the leader'), 20_000);
    } finally {
      // Readers left running on a closed client spin without yielding and starve the whole run.
      installed = true;
      await Promise.all(readers);
    }
    assert.deepEqual(backwards, []);
    // Nothing was ever compacted: a range at revision -1 passes on every member (etcd's
    // compactMainRev is -1 until the first compaction), the snapshot-installed one included, so
    // all of them apply the put beside it.
    const r = await leader.client.txn({ success: [{ request_range: { key: b('key-1'), revision: -1 } }, { request_put: { key: b('beside'), value: b('1') } }] });
    await eventually('every member applied the txn', async () => {
      const answers = await Promise.all(c.members.map((m) => m.client.range({ key: b('beside'), serializable: true })));
      return answers.every((a) => a.kvs.length === 1 && a.header?.revision === r.header?.revision);
    });
  });

  /**
   * A member that missed 6,000 writes, with the snapshot that would catch it up held back by the
   * network, reading them linearizably: resolves once the read has its read index, which the member
   * can reach only by installing the snapshot. `read` resolves with the count, or the error's text.
   */
  async function readAwaitingSnapshot() {
    c = await startInProcessCluster(3, { snapshotCount: 20 });
    const leader = await c.leader();
    const lagging = c.members.find((m) => m !== leader)!;
    // Its own proposal committing after the install would wake the read.
    await eventually('the lagging member has published itself', () => lagging.logs.includes('publish member attributes: done'));
    const held = c.network.holdSnapshots(lagging.server.memberId);
    await writeWhileCutOff(leader, lagging);
    await held.sent;
    const readIndexAnswered = c.network.delivered('MsgReadIndexResp', lagging.server.memberId);
    const read = lagging.client.range({ key: b('key-'), range_end: b('key.'), count_only: true })
      .then((r) => r.count, (err: ServiceError) => err.details);
    await readIndexAnswered;
    return { lagging, held, read };
  }

  // A read that learned its read index before the snapshot covering it was installed waited for an
  // apply that, in a cluster taking no writes, never came: it timed out.
  it('answers a linearizable read on a member whose snapshot install brought it to the read index', async () => {
    const { held, read } = await readAwaitingSnapshot();
    held.release();
    assert.equal(await read, '6000');
  });

  // The stop failed the readers still waiting for a read index, but not those that had theirs and
  // waited for the member to apply up to it: they ran on to their request timeout.
  it('fails at once a linearizable read waiting for its apply when the member stops', async () => {
    const { lagging, held, read } = await readAwaitingSnapshot();
    await lagging.server.stop();
    assert.equal(await read, 'etcdserver: server stopped');
    held.release();
  });

  // Once every reader of an unanswered round had timed out (an overloaded leader, say), its retry
  // dropped the round, and a reader that had come meanwhile waited with no round until it timed out too.
  it('serves a read that came while the readers of an unanswered read-index round timed out', async () => {
    c = await startInProcessCluster(3);
    const leader = await c.leader();
    const follower = c.members.find((m) => m !== leader)!;
    const found = c.network.lose('MsgReadIndex');
    // The core's own call, so the next read comes the moment this one's time is up.
    const first = follower.server.range({ key: b('k') } as Parameters<typeof follower.server.range>[0]);
    await assert.rejects(first, (err) => err instanceof ServerError && err.reason === 'timeout');
    found();
    // Asked before the next retry of the round the first reader left.
    assert.equal((await follower.client.range({ key: b('k') })).count, '0');
  });

  // Each member applies every write, but only the proposer's answer goes to a client: the others
  // need not read the key back for a failed compare-and-put's range, nor for a prev_kv.
  it('reads what only the answer needs on the member whose client waits for it, not on the others', async () => {
    c = await startInProcessCluster(3);
    const leader = await c.leader();
    const { header } = await leader.client.put({ key: b('cas'), value: b('1') });
    const recordsRead = c.members.map((m) => {
      const { engine } = m;
      const getMany = engine.getMany.bind(engine);
      let read = 0;
      engine.getMany = (keys) => {
        read += keys.length;
        return getMany(keys);
      };
      return () => read;
    });
    const failed = await leader.client.txn({
      compare: [{ key: b('cas'), target: 'MOD', result: 'EQUAL', mod_revision: '1' }],
      success: [{ request_put: { key: b('cas'), value: b('2') } }],
      failure: [{ request_range: { key: b('cas') } }],
    });
    assert.equal(failed.succeeded, false);
    assert.equal(failed.responses[0]!.response_range!.kvs[0]!.mod_revision, header!.revision);
    const { prev_kv } = await leader.client.put({ key: b('cas'), value: b('3'), prev_kv: true });
    assert.equal(prev_kv?.value.toString(), '1');
    // Applied in order: once the followers have the last put, they have applied the txn too.
    for (const m of c.members) {
      await eventually('the member applied the last put', async () =>
        (await m.client.range({ key: b('cas'), serializable: true, count_only: true })).header!.revision === String(Number(header!.revision) + 1));
    }
    assert.deepEqual(c.members.map((m, i) => (m === leader ? recordsRead[i]!() > 0 : recordsRead[i]!() === 0)), [true, true, true],
      `records read per member: ${recordsRead.map((r) => r()).join(', ')}`);
  });

  // A catch-up read that ran after a snapshot install wrote the leader's compacted state, but before
  // the store reloaded, found the compacted history gone while the store still had the old
  // compaction revision: the watcher was given what was left as whole, and never told.
  it('never hands a watcher catching up across a snapshot install a compacted history as complete', async () => {
    c = await startInProcessCluster(3, { snapshotCount: 20 });
    const leader = await c.leader();
    const lagging = c.members.find((m) => m !== leader)!;
    for (let i = 0; i < 10; i++) await leader.client.put({ key: b('w'), value: b(`${i}`) }); // 2..11
    await eventually('the lagging member has revision 11', async () =>
      (await lagging.client.range({ key: b('w'), serializable: true })).kvs[0]?.mod_revision === '11');
    c.network.isolate(lagging.server.memberId);
    // The lagging member's catch-up reads wait until the install has written the new state.
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    let readsWaiting = 0;
    let readsDone = 0;
    const entries = lagging.engine.entries.bind(lagging.engine);
    lagging.engine.entries = (range) => (async function* () {
      readsWaiting++;
      await gate;
      try {
        yield* entries(range);
      } finally {
        readsDone++;
      }
    })();
    // The install's batch (made as the snapshot starts to arrive) lets the reads go once it is
    // written, and the install goes on to reload the store only after one of them ran.
    const largeBatch = lagging.engine.largeBatch.bind(lagging.engine);
    lagging.engine.largeBatch = () => {
      const batch = largeBatch();
      return {
        ...batch,
        write: async (ops, options) => {
          await batch.write(ops, options);
          release();
          await eventually('a catch-up read ran on the new state', () => readsDone > 0);
        },
      };
    };
    const got: WatchResponse__Output[] = [];
    const call = lagging.client.watchStream();
    call.on('data', (r: WatchResponse__Output) => got.push(r));
    call.on('error', () => { /* canceled below */ });
    call.write({ create_request: { key: b('w'), start_revision: 2 } });
    await eventually('the watcher is catching up', () => got.length === 1 && readsWaiting > 0);
    await leader.client.compact({ revision: 11, physical: true }); // w@2..w@10 gone on the others
    for (let i = 0; i < 6000; i += 200) {
      await Promise.all(Array.from({ length: 200 }, (_, j) => leader.client.put({ key: b(`key-${i + j}`), value: b('x') })));
    }
    c.network.heal();
    await eventually('the lagging member installs a snapshot', () => lagging.logs.includes('installed snapshot from the leader'), 15_000);
    await leader.client.put({ key: b('w'), value: b('after') });
    await eventually('the watcher got the put after the install, or was canceled',
      () => got.some((r) => r.canceled || r.events.some((e) => String(e.kv?.value) === 'after')), 15_000);
    const revs = got.flatMap((r) => r.events.map((e) => Number(e.kv?.mod_revision)));
    const compacted = got.find((r) => r.canceled)?.compact_revision;
    assert.ok(compacted !== undefined && compacted !== '0' || revs.slice(0, 10).join() === '2,3,4,5,6,7,8,9,10,11',
      `the watcher from 2 got revisions ${revs.join(', ')} and was not told of the compaction`);
    call.cancel();
  });

  // An install over an older state had deleted the leases both states held: the member then
  // revoked nothing for them and its revisions fell behind the others' (a chaos run found it).
  it('keeps the leases a member already had when a snapshot catches it up', async () => {
    c = await startInProcessCluster(3, { snapshotCount: 20 });
    const leader = await c.leader();
    const lagging = c.members.find((m) => m !== leader)!;
    const { ID } = await leader.client.leaseGrant({ TTL: 600 });
    await leader.client.put({ key: b('leased'), value: b('1'), lease: ID });
    await eventually('the lagging member has the leased key', async () =>
      (await lagging.client.range({ key: b('leased'), serializable: true })).kvs.length === 1);
    await writeWhileCutOff(leader, lagging);
    await eventually('the lagging member installs a snapshot', () => lagging.logs.includes('installed snapshot from the leader'), 15_000);
    await leader.client.leaseRevoke({ ID });
    const { header } = await leader.client.put({ key: b('after-revoke'), value: b('y') });
    await eventually('the lagging member applied the put after the revoke', async () =>
      (await lagging.client.range({ key: b('after-revoke'), serializable: true })).kvs.length === 1);
    const there = await lagging.client.range({ key: b('after-revoke'), serializable: true });
    assert.equal(there.kvs[0]!.mod_revision, header!.revision, 'the same revision on both members');
    assert.equal((await lagging.client.range({ key: b('leased'), serializable: true })).kvs.length, 0, 'the revoke deleted the key there too');
  });
});
