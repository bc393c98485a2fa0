import { status } from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import type { LeaseKeepAliveResponse__Output } from '../generated/etcdserverpb/LeaseKeepAliveResponse';
import { failure, InProcessCluster, InProcessMember, startInProcessCluster, startInProcessMember } from '../cmd/in-process-member';
import { EtcdClient } from '../client/etcd-client';
import { eventually } from '../util/eventually';

const b = (s: string) => Buffer.from(s);

/** Sends one keep-alive on a fresh stream and returns the TTL answered. */
async function keepAliveOnce(client: EtcdClient, id: string): Promise<string> {
  const stream = client.leaseKeepAliveStream();
  try {
    return await new Promise<string>((resolve, reject) => {
      stream.once('data', (r: LeaseKeepAliveResponse__Output) => resolve(r.TTL));
      stream.once('error', reject);
      stream.write({ ID: id });
    });
  } finally {
    stream.end();
  }
}

describe('Lease service over gRPC', function () {
  this.timeout(20_000);
  let m: InProcessMember;
  beforeEach(async () => {
    m = await startInProcessMember();
  });
  afterEach(() => m.close());

  it('grants with a chosen or an allocated ID, raising a TTL below the minimum', async () => {
    const chosen = await m.client.leaseGrant({ ID: 100, TTL: 60 });
    assert.deepEqual([chosen.ID, chosen.TTL], ['100', '60']);
    const allocated = await m.client.leaseGrant({ TTL: 0 });
    assert.ok(BigInt(allocated.ID) > 0n);
    assert.equal(allocated.TTL, '1', 'the minimum is 1.5 election timeouts, rounded up to whole seconds');
    const ids = (await m.client.leaseLeases()).leases.map((l) => l.ID).sort();
    assert.deepEqual(ids, [allocated.ID, '100'].sort());
  });

  it('answers etcd\'s errors: existing ID, too large a TTL, unknown lease', async () => {
    await m.client.leaseGrant({ ID: 5, TTL: 60 });
    assert.deepEqual(await failure(m.client.leaseGrant({ ID: 5, TTL: 60 })),
      { code: status.FAILED_PRECONDITION, details: 'etcdserver: lease already exists' });
    assert.deepEqual(await failure(m.client.leaseGrant({ TTL: '9000000001' })),
      { code: status.OUT_OF_RANGE, details: 'etcdserver: too large lease TTL' });
    assert.deepEqual(await failure(m.client.leaseRevoke({ ID: 6 })),
      { code: status.NOT_FOUND, details: 'etcdserver: requested lease not found' });
    const ttl = await m.client.leaseTimeToLive({ ID: 6 });
    assert.equal(ttl.TTL, '-1', 'an unknown lease has TTL -1, not an error');
    assert.equal(await keepAliveOnce(m.client, '6'), '0', 'a keep-alive of an unknown lease answers TTL 0');
  });

  // Found by the fuzz test: the grant reached apply, whose invariant stopped every member.
  it('refuses a negative lease ID before the log, and keeps serving', async () => {
    assert.deepEqual(await failure(m.client.leaseGrant({ ID: '-1', TTL: 60 })),
      { code: status.INVALID_ARGUMENT, details: 'etcdserver: lease ID must not be negative' });
    assert.equal((await m.client.leaseGrant({ ID: 7, TTL: 60 })).ID, '7');
  });

  it('reports time to live with keys, and keep-alive renews', async () => {
    await m.client.leaseGrant({ ID: 7, TTL: 30 });
    await m.client.put({ key: b('b'), value: b('1'), lease: 7 });
    await m.client.put({ key: b('a'), value: b('1'), lease: 7 });
    const t = await m.client.leaseTimeToLive({ ID: 7, keys: true });
    assert.equal(t.grantedTTL, '30');
    assert.ok(Number(t.TTL) > 0 && Number(t.TTL) <= 30);
    assert.deepEqual(t.keys.map(String), ['a', 'b']);
    assert.equal(await keepAliveOnce(m.client, '7'), '30');
  });

  it('revoking deletes every attached key in one revision, and only those', async () => {
    await m.client.leaseGrant({ ID: 8, TTL: 60 });
    for (const k of ['x', 'y', 'z']) await m.client.put({ key: b(k), value: b('1'), lease: 8 });
    await m.client.put({ key: b('y'), value: b('detached') }); // re-put without lease: no longer attached
    await m.client.put({ key: b('free'), value: b('1') });
    const before = Number((await m.client.range({ key: b('free') })).header?.revision);
    await m.client.leaseRevoke({ ID: 8 });
    const all = await m.client.range({ key: Buffer.from([0]), range_end: Buffer.from([0]) });
    assert.deepEqual(all.kvs.map((kv) => String(kv.key)), ['free', 'y']);
    assert.equal(Number(all.header?.revision), before + 1, 'one revision for the whole revocation');
    assert.equal((await m.client.leaseTimeToLive({ ID: 8 })).TTL, '-1');
  });

  it('expires a lease nobody keeps alive, deleting its keys, while a kept-alive one lives', async () => {
    await m.client.leaseGrant({ ID: 9, TTL: 1 });
    await m.client.leaseGrant({ ID: 10, TTL: 1 });
    await m.client.put({ key: b('gone'), value: b('1'), lease: 9 });
    await m.client.put({ key: b('kept'), value: b('1'), lease: 10 });
    const stream = m.client.leaseKeepAliveStream();
    stream.on('data', () => {});
    const renew = setInterval(() => stream.write({ ID: 10 }), 300);
    try {
      await eventually('lease 9 expired', async () => (await m.client.range({ key: b('gone') })).count === '0');
      // Granted together with the same TTL: by now lease 10 would be gone too, but for its renewals.
      assert.equal((await m.client.range({ key: b('kept') })).count, '1');
    } finally {
      clearInterval(renew);
      stream.end();
    }
  });

  // etcd answers int64(Remaining().Seconds()): a lease granted 60 s a moment ago has 59 s left.
  it('reports the remaining TTL in whole seconds, truncated as etcd does', async () => {
    await m.client.leaseGrant({ ID: 11, TTL: 60 });
    const granted = Date.now();
    await eventually('a millisecond has passed since the grant', () => Date.now() > granted + 1);
    const t = await m.client.leaseTimeToLive({ ID: 11 });
    assert.deepEqual([t.grantedTTL, t.TTL], ['60', '59']);
  });
});

describe('Leases across a three-member cluster', function () {
  this.timeout(30_000);
  let c: InProcessCluster;
  afterEach(() => c.close());

  it('renews through a follower and keeps leases when the leader changes', async () => {
    c = await startInProcessCluster(3);
    const leader = await c.leader();
    const follower = c.members.find((x) => x !== leader)!;
    await follower.client.leaseGrant({ ID: 21, TTL: 3 });
    await follower.client.put({ key: b('owned'), value: b('1'), lease: 21 });
    assert.equal(await keepAliveOnce(follower.client, '21'), '3', 'the follower forwarded the keep-alive to the leader');
    const ttl = await follower.client.leaseTimeToLive({ ID: 21, keys: true });
    assert.deepEqual(ttl.keys.map(String), ['owned']);
    // Depose the leader: the new one extends the lease instead of expiring it at once.
    c.network.isolate(leader.server.memberId);
    const others = c.members.filter((x) => x !== leader);
    await eventually('a new leader', async () => others.some((x) => x.server.leader === x.server.memberId));
    const fresh = others.find((x) => x.server.leader === x.server.memberId)!;
    assert.equal((await fresh.client.range({ key: b('owned') })).count, '1');
    assert.ok(Number((await fresh.client.leaseTimeToLive({ ID: 21 })).TTL) >= 2);
    // Nobody renews it now: the new leader expires it, and every member deletes the key.
    c.network.heal();
    await eventually('the lease expired everywhere', async () => {
      const counts = await Promise.all(c.members.map((x) => x.client.range({ key: b('owned'), serializable: true })));
      return counts.every((r) => r.count === '0');
    });
  });

  // etcd fills a keep-alive's header before it renews, so that the revision it names is never
  // later than the renewal: a lease revoked at revision 3 must not look renewed at revision 4.
  it('names in a keep-alive\'s header the revision from before the renewal, not one applied while it waited', async () => {
    c = await startInProcessCluster(3);
    const leader = await c.leader();
    const follower = c.members.find((x) => x !== leader)!;
    await follower.client.leaseGrant({ ID: 41, TTL: 10 });
    const before = (await follower.client.put({ key: b('k'), value: b('1') })).header!.revision;
    const held = c.network.holdLeaseForwards(follower.server.memberId);
    const stream = follower.client.leaseKeepAliveStream();
    const answer = new Promise<LeaseKeepAliveResponse__Output>((resolve, reject) => {
      stream.once('data', resolve);
      stream.once('error', reject);
    });
    stream.write({ ID: '41' });
    await held.sent;
    const during = (await follower.client.put({ key: b('k'), value: b('2') })).header!.revision;
    held.release();
    const renewed = await answer;
    stream.end();
    assert.equal(renewed.TTL, '10');
    assert.deepEqual([renewed.header!.revision, during], [before, String(Number(before) + 1)]);
  });

  // A leader cut off (or paused) keeps believing it leads until its election timeout runs out,
  // while the others elect a new one: renewing there would keep a lease alive that the new leader
  // lets expire.
  it('refuses a keep-alive on a leader cut off from the others rather than renewing it', async () => {
    c = await startInProcessCluster(3);
    const old = await c.leader();
    await old.client.leaseGrant({ ID: 31, TTL: 10 });
    c.network.isolate(old.server.memberId);
    assert.equal(old.server.leader, old.server.memberId, 'it still believes it leads');
    const refused = await failure(keepAliveOnce(old.client, '31'));
    assert.equal(refused.code, status.UNAVAILABLE);
    c.network.heal();
    await eventually('renewed once healed', async () => (await keepAliveOnce(old.client, '31').catch(() => '')) === '10');
  });

  // A keep-alive answered from a recent quorum confirmation must stop being answered once the
  // others could have elected a new leader.
  it('stops renewing on a cut-off leader once its last quorum confirmation is too old', async () => {
    c = await startInProcessCluster(3);
    const old = await c.leader();
    await old.client.leaseGrant({ ID: 32, TTL: 10 });
    assert.equal(await keepAliveOnce(old.client, '32'), '10', 'renewed after a read round');
    c.network.isolate(old.server.memberId);
    await eventually('the cut-off leader refuses to renew', async () => {
      const f = await keepAliveOnce(old.client, '32').then(() => undefined, (err: Error & { code?: number }) => err);
      return f?.code === status.UNAVAILABLE;
    });
    c.network.heal();
  });

  // A follower applies a grant and answers its client while the leader may not have applied it:
  // asked about the lease then, the leader said it did not exist. etcd's leader waits for its apply.
  it('answers for a lease a follower just granted, once the leader has applied it', async () => {
    c = await startInProcessCluster(3);
    const leader = await c.leader();
    const follower = c.members.find((x) => x !== leader)!;
    // Nothing else is proposed from here on: each member has published itself.
    for (const x of c.members) await eventually('a member published itself', () => x.logs.includes('publish member attributes: done'));
    // The leader's applies wait, from the next batch on, until it is asked about the lease: the
    // next is a put's, so the grant's apply waits behind it. (Its lessor changes in apply, before
    // the batch is written: holding the grant's own write would not hold the grant.)
    let asked!: () => void;
    const gate = new Promise<void>((resolve) => { asked = resolve; });
    const write = leader.engine.write.bind(leader.engine);
    leader.engine.write = async (ops, options) => {
      await gate;
      return write(ops, options);
    };
    await follower.client.put({ key: b('first'), value: b('1') });
    const answer = leader.server.leases.answer.bind(leader.server.leases);
    leader.server.leases.answer = (req) => {
      const answered = answer(req);
      asked();
      return answered;
    };
    const { ID } = await follower.client.leaseGrant({ TTL: 30 });
    const ttl = Number((await follower.client.leaseTimeToLive({ ID })).TTL);
    assert.ok(ttl >= 29, `TTL ${ttl} right after the grant`);
  });

  // A follower failed a forwarded keep-alive at once while there was no leader (an election): a
  // client's keep-alive stream ended. etcd's follower tries again until the request timeout.
  it('answers a keep-alive sent through a follower while the leader is down, once another leads', async () => {
    c = await startInProcessCluster(3);
    const old = await c.leader();
    await old.client.leaseGrant({ ID: 41, TTL: 30 });
    const follower = c.members.find((x) => x !== old)!;
    await eventually('the follower has the lease', () => follower.server.leases.lessor.lookup(41n) !== undefined);
    c.members.splice(c.members.indexOf(old), 1);
    await old.close();
    assert.equal(await keepAliveOnce(follower.client, '41'), '30');
  });

  it('refuses lease calls on a learner, as etcd does', async () => {
    c = await startInProcessCluster(3);
    const leader = await c.leader();
    await leader.client.leaseGrant({ ID: 51, TTL: 30 });
    await leader.server.memberAdmin.add([c.peerUrl('m4')], true, new Date());
    const current = leader.server.members().filter((x) => x.name !== '').map((x) => `${x.name}=${x.peerURLs[0]}`);
    const learner = await c.join('m4', [...current, `m4=${c.peerUrl('m4')}`].join(','));
    await eventually('the learner has the lease', () => learner.server.leases.lessor.lookup(51n) !== undefined);
    assert.equal(learner.server.isLearner(), true);
    const notForLearner = { code: status.UNAVAILABLE, details: 'etcdserver: rpc not supported for learner' };
    assert.deepEqual(await failure(learner.client.leaseGrant({ ID: 52, TTL: 30 })), notForLearner, 'LeaseGrant');
    assert.deepEqual(await failure(learner.client.leaseTimeToLive({ ID: 51 })), notForLearner, 'LeaseTimeToLive');
    assert.deepEqual(await failure(learner.client.leaseLeases()), notForLearner, 'LeaseLeases');
    assert.deepEqual(await failure(keepAliveOnce(learner.client, '51')), notForLearner, 'LeaseKeepAlive');
    assert.deepEqual(await failure(learner.client.leaseRevoke({ ID: 51 })), notForLearner, 'LeaseRevoke');
  });
});

describe('the minimum lease TTL', function () {
  this.timeout(20_000);
  let m: InProcessMember;
  afterEach(() => m.close());

  // etcd: (3 * electionTicks / 2) whole heartbeat ticks, electionTicks itself whole, rounded up to seconds.
  it('raises a TTL below it to etcd\'s minimum, counted in whole heartbeat ticks', async () => {
    m = await startInProcessMember({ heartbeatIntervalMs: 300, electionTimeoutMs: 2100 });
    assert.equal((await m.client.leaseGrant({ TTL: 1 })).TTL, '3');
  });
});
