import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { failure, InProcessCluster, InProcessMember, startInProcessCluster } from '../cmd/in-process-member';
import { eventually } from '../util/eventually';
import { ServerError } from './errors';

const b = (s: string) => Buffer.from(s);

/** Writes keys w-…-… through `target` from a few concurrent writers until stopped; returns what was acknowledged. */
function writeLoad(target: InProcessMember): { stop(): Promise<string[]> } {
  const acked: string[] = [];
  let running = true;
  const writer = async (w: number) => {
    for (let i = 0; running; i++) {
      const key = `w-${w}-${String(i).padStart(6, '0')}`;
      try {
        await target.client.put({ key: b(key), value: b('v') });
        acked.push(key);
      } catch {
        // A refused write (no leader for a moment) was not acknowledged; only acknowledged ones count.
        // Retry after a pause: a refusal can come back at once, and retrying in a tight loop would
        // starve the timers that drive Raft.
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  };
  const writers = Promise.all([0, 1, 2, 3].map(writer));
  return { async stop() { running = false; await writers; return acked; } };
}

async function keysOn(m: InProcessMember, prefix: string): Promise<string[]> {
  const r = await m.client.range({ key: b(prefix), range_end: b(prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)), serializable: true });
  return r.kvs.map((kv) => kv.key.toString());
}

/** --initial-cluster for a member joining now: the current members plus the new ones, as `member add` prints it. */
function initialClusterWith(c: InProcessCluster, leader: InProcessMember, extra: string[]): string {
  const current = leader.server.members().filter((m) => m.name !== '').map((m) => `${m.name}=${m.peerURLs[0]}`);
  return [...current, ...extra.map((n) => `${n}=${c.peerUrl(n)}`)].join(',');
}

async function reason(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (err) {
    if (err instanceof ServerError) return err.reason;
    throw err;
  }
  throw new Error('the change was accepted but should have been refused');
}

describe('membership changes through Raft', function () {
  this.timeout(60_000);
  let c: InProcessCluster;
  afterEach(() => c.close());

  it('grows 3 → 5 and shrinks back to 3 under a write load, losing no acknowledged write', async () => {
    c = await startInProcessCluster(3);
    const leader = await c.leader();
    const load = writeLoad(leader);
    for (const name of ['m4', 'm5']) {
      // As etcd's mayAddMember, the leader adds only while it hears from every voter.
      await eventually('the leader hears from every voter', () =>
        leader.activeVoters()?.size === leader.server.members().filter((m) => !m.isLearner).length);
      await leader.server.memberAdmin.add([c.peerUrl(name)], false, new Date());
      const joined = await c.join(name, initialClusterWith(c, leader, [name]));
      await eventually(`${name} publishes its name`, () => leader.server.members().find((m) => m.name === name) !== undefined);
      // The new member learns the membership by applying the log (or a snapshot), which may still
      // be under way when the leader has applied its publication.
      await eventually(`${name} knows every member`, () => joined.server.members().length === c.members.length);
    }
    assert.equal(leader.server.members().length, 5);
    for (const m of c.members.slice(3)) {
      await eventually('the new member catches up', () => m.server.currentRevision > 1);
    }
    // Shrink by removing two of the original followers.
    for (const victim of c.members.filter((m) => m !== leader).slice(0, 2)) {
      await leader.server.memberAdmin.remove(victim.server.memberId);
      assert.equal(await victim.server.stoppedByItself, 'the member has been permanently removed from the cluster');
    }
    const acked = await load.stop();
    assert.ok(acked.length > 20, `only ${acked.length} writes were acknowledged`);
    assert.equal(leader.server.members().length, 3);
    const remaining = c.members.filter((m) => leader.server.members().some((x) => x.id === m.server.memberId));
    await leader.client.put({ key: b('fence'), value: b('1') });
    for (const m of remaining) {
      await eventually('every member has the fence', async () => (await keysOn(m, 'fence')).length === 1);
      const present = new Set(await keysOn(m, 'w-'));
      assert.deepEqual(acked.filter((k) => !present.has(k)), [], `acknowledged writes missing on ${m.server.memberId.toString(16)}`);
    }
  });

  it('adds a learner that replicates but does not vote, then promotes it', async () => {
    c = await startInProcessCluster(3);
    const leader = await c.leader();
    await leader.client.put({ key: b('a'), value: b('1') });
    await eventually('the leader hears from every voter', () =>
      leader.activeVoters()?.size === 3);
    const added = await leader.server.memberAdmin.add([c.peerUrl('m4')], true, new Date());
    assert.equal(added.isLearner, true);
    assert.equal(await reason(leader.server.memberAdmin.add([c.peerUrl('m5')], true, new Date())), 'too-many-learners');
    const learner = await c.join('m4', initialClusterWith(c, leader, ['m4']));
    await eventually('the learner has the data', async () => (await keysOn(learner, 'a')).length === 1);
    assert.equal(learner.server.isLearner(), true);
    // A learner serves serializable reads only.
    await assert.rejects(learner.client.put({ key: b('x'), value: b('y') }), /rpc not supported for learner/);
    // Promotion waits until the learner has caught up; it may be refused until then.
    await eventually('the learner is promoted', async () => {
      try {
        await leader.server.memberAdmin.promote(learner.server.memberId);
        return true;
      } catch (err) {
        if (err instanceof ServerError && err.reason === 'learner-not-ready') return false;
        throw err;
      }
    });
    assert.equal(leader.server.members().find((m) => m.id === learner.server.memberId)?.isLearner, false);
    await eventually('the promoted member knows it votes', () => !learner.server.isLearner());
    await learner.client.put({ key: b('from-promoted'), value: b('1') });
    assert.equal(await reason(leader.server.memberAdmin.promote(learner.server.memberId)), 'member-not-learner');
  });

  // etcd's unary interceptor (v3rpc/interceptor.go, isRPCSupportedForLearner in util.go) lets a learner
  // answer Status and serializable Range only: every Txn is refused, a serializable read-only one too.
  it('refuses every txn on a learner, a serializable read-only one included', async () => {
    c = await startInProcessCluster(3);
    const leader = await c.leader();
    await leader.client.put({ key: b('a'), value: b('1') });
    await leader.server.memberAdmin.add([c.peerUrl('m4')], true, new Date());
    const learner = await c.join('m4', initialClusterWith(c, leader, ['m4']));
    await eventually('the learner has the data', async () => (await keysOn(learner, 'a')).length === 1);
    assert.equal(learner.server.isLearner(), true);
    assert.deepEqual(await failure(learner.client.txn({ success: [{ request_range: { key: b('a'), serializable: true } }] })),
      { code: status.UNAVAILABLE, details: 'etcdserver: rpc not supported for learner' });
  });

  it('removes the leader: it steps away, the rest elect a new leader and keep going', async () => {
    c = await startInProcessCluster(3);
    const old = await c.leader();
    await old.client.put({ key: b('before'), value: b('1') });
    await old.server.memberAdmin.remove(old.server.memberId);
    assert.equal(await old.server.stoppedByItself, 'the member has been permanently removed from the cluster');
    await old.close();
    c.members.splice(c.members.indexOf(old), 1);
    const fresh = await c.leader(10_000);
    assert.notEqual(fresh.server.memberId, old.server.memberId);
    await fresh.client.put({ key: b('after'), value: b('2') });
    for (const m of c.members) {
      assert.equal(m.server.members().length, 2);
      await eventually('both writes everywhere', async () => (await keysOn(m, 'after')).length === 1 && (await keysOn(m, 'before')).length === 1);
    }
  });

  it('replaces a member whose data dir was wiped with a new member at the same peer URL', async () => {
    c = await startInProcessCluster(3);
    const leader = await c.leader();
    for (let i = 0; i < 50; i++) await leader.client.put({ key: b(`k-${i}`), value: b('v') });
    const lost = c.members.find((m) => m !== leader)!;
    const { name, peerURLs } = leader.server.members().find((m) => m.id === lost.server.memberId)!;
    await lost.close(); // its data dir goes with it
    c.members.splice(c.members.indexOf(lost), 1);
    await leader.server.memberAdmin.remove(lost.server.memberId);
    // The removed ID may never come back; its URL may, under a new ID.
    assert.equal(await reason(leader.server.memberAdmin.remove(lost.server.memberId)), 'member-not-found');
    const added = await leader.server.memberAdmin.add(peerURLs, false, new Date());
    assert.notEqual(added.id, lost.server.memberId);
    const replacement = await c.join(name, initialClusterWith(c, leader, [name]));
    assert.equal(replacement.server.memberId, added.id);
    await eventually('the replacement has every key', async () => (await keysOn(replacement, 'k-')).length === 50);
    await replacement.client.put({ key: b('from-replacement'), value: b('1') });
  });

  it('refuses changes etcd refuses', async () => {
    c = await startInProcessCluster(3);
    const leader = await c.leader();
    assert.equal(await reason(leader.server.memberAdmin.remove(0x1234n)), 'member-not-found');
    assert.equal(await reason(leader.server.memberAdmin.promote(leader.server.memberId)), 'member-not-learner');
    assert.equal(await reason(leader.server.memberAdmin.add([c.peerUrl('m1')], false, new Date())), 'peer-url-exists');
    assert.equal(await reason(leader.server.memberAdmin.add(['not a url'], false, new Date())), 'bad-member-urls');
    assert.equal(await reason(leader.server.memberAdmin.update(0x1234n, [c.peerUrl('m9')])), 'member-not-found');
  });

  it('ignores a second change while the first is not applied, as etcd: the first takes effect, the caller of the second times out', async () => {
    c = await startInProcessCluster(3);
    const leader = await c.leader();
    const [m2, m3] = leader.server.members().filter((m) => m.id !== leader.server.memberId);
    // Both reach Raft in this turn of the loop, before the first can be applied anywhere.
    const first = leader.server.memberAdmin.update(m2!.id, [c.peerUrl('m8')]);
    const second = reason(leader.server.memberAdmin.update(m3!.id, [c.peerUrl('m9')]));
    await first;
    assert.equal(await second, 'timeout');
    const urls = new Map(leader.server.members().map((m) => [m.id, m.peerURLs]));
    assert.deepEqual(urls.get(m2!.id), [c.peerUrl('m8')]);
    assert.deepEqual(urls.get(m3!.id), m3!.peerURLs);
  });
});

describe('MoveLeader', function () {
  this.timeout(30_000);
  let c: InProcessCluster;
  afterEach(() => c.close());

  it('hands leadership to the member asked for, and refuses from a follower or to a stranger', async () => {
    c = await startInProcessCluster(3);
    const leader = await c.leader();
    const [target, other] = c.members.filter((m) => m !== leader) as [InProcessMember, InProcessMember];
    await leader.client.moveLeader(target.server.memberId.toString());
    assert.equal(leader.server.leader, target.server.memberId);
    await eventually('every member follows the new leader', () => c.members.every((m) => m.server.leader === target.server.memberId));
    await assert.rejects(other.client.moveLeader(leader.server.memberId.toString()), /etcdserver: not leader/);
    await assert.rejects(target.client.moveLeader('4660'), /etcdserver: bad leader transferee/);
    await target.client.put({ key: b('after-move'), value: b('1') });
  });
});
