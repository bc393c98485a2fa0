import assert from 'node:assert/strict';
import { type ServiceError, status } from '@grpc/grpc-js';
import { failure, InProcessCluster, InProcessMember, startInProcessCluster } from '../cmd/in-process-member';
import { eventually } from '../util/eventually';

/**
 * Waits until the leader has applied its first entries: a configuration change proposed before
 * that is dropped by Raft as "another is pending" (answered 'etcdserver: no leader').
 */
async function settled(leader: InProcessMember): Promise<void> {
  await leader.client.put({ key: Buffer.from('settled'), value: Buffer.from('1') });
}

/** Stops a member for good (its data dir goes with it) and leaves it out of the cluster's list. */
async function stopMember(c: InProcessCluster, m: InProcessMember): Promise<void> {
  await m.close();
  c.members.splice(c.members.indexOf(m), 1);
}

describe('Cluster service, compared with etcd', function () {
  this.timeout(60_000);
  let c: InProcessCluster;
  afterEach(() => c.close());

  it('MemberAdd refuses a new voter while too few voters are active to keep a quorum with it', async () => {
    c = await startInProcessCluster(3);
    const leader = await c.leader();
    await settled(leader);
    const down = c.members.find((m) => m !== leader)!;
    const downId = down.server.memberId;
    await stopMember(c, down);
    await eventually('the leader sees the stopped member inactive', () => leader.activeVoters()?.has(downId) === false);
    // 3 voters, 2 active: with a 4th the quorum is 3, which only 2 cannot make.
    assert.deepEqual(await failure(leader.client.memberAdd({ peerURLs: [c.peerUrl('m4')], isLearner: false })), {
      code: status.UNAVAILABLE, details: 'etcdserver: unhealthy cluster',
    });
    assert.equal(leader.server.members().length, 3);
  });

  // etcd checks on the member that got the request; Keel's followers ask the leader, the one member
  // that hears from every voter.
  it('a follower refuses the same add, and removing an active voter, while a voter is down', async () => {
    c = await startInProcessCluster(3);
    const leader = await c.leader();
    await settled(leader);
    const [down, follower] = c.members.filter((m) => m !== leader) as [InProcessMember, InProcessMember];
    const downId = down.server.memberId;
    await stopMember(c, down);
    await eventually('the leader sees the stopped member inactive', () => leader.activeVoters()?.has(downId) === false);
    const unhealthy = { code: status.UNAVAILABLE, details: 'etcdserver: unhealthy cluster' };
    assert.deepEqual(await failure(follower.client.memberAdd({ peerURLs: [c.peerUrl('m4')], isLearner: false })), unhealthy);
    // Two voters left active of three: without the leader, one would remain of two, no quorum.
    assert.deepEqual(await failure(follower.client.memberRemove(leader.server.memberId.toString())), unhealthy);
    assert.equal(leader.server.members().length, 3);
    // The member that is down is safe to remove, through a follower too.
    await follower.client.memberRemove(downId.toString());
    assert.equal(leader.server.members().length, 2);
  });

  // etcd membership/cluster.go ValidateConfigurationChange: `if members[id] != nil { return ErrIDExists }`;
  // the ID hashes the peer URLs with the time in seconds (NewMember), so the same URLs in the same second give the same ID.
  it('MemberAdd of the same peer URLs twice is refused, not answered with the member already added', async () => {
    c = await startInProcessCluster(3);
    const leader = await c.leader();
    await settled(leader);
    // Both adds in the same wall-clock second, as two quick retries of `etcdctl member add` would be.
    await eventually('the start of a second', () => Date.now() % 1000 < 200, 5000, 5);
    // Learners: a second voter that never started would be refused first as 'unhealthy cluster'.
    const first = await leader.client.memberAdd({ peerURLs: [c.peerUrl('m4')], isLearner: true });
    const again = leader.client.memberAdd({ peerURLs: [c.peerUrl('m4')], isLearner: true });
    assert.deepEqual(await failure(again), { code: status.FAILED_PRECONDITION, details: 'etcdserver: member ID already exist' });
    assert.equal(first.members.length, 4);
  });

  // etcd membership/cluster.go ValidateConfigurationChange counts learners at apply (ErrTooManyLearners),
  // so a second learner add proposed by a member that had not yet applied the first is refused.
  it('refuses a second learner proposed by a member that had not applied the first one yet', async () => {
    c = await startInProcessCluster(3, { electionTimeoutMs: 3000 });
    const leader = await c.leader(20_000);
    const leaderId = leader.server.memberId;
    await settled(leader);
    await eventually('every member follows the leader', () => c.members.every((m) => m.server.leader === leaderId));
    const lagging = c.members.find((m) => m !== leader)!;
    // The leader's messages stop reaching `lagging` (which still reaches the leader), for less than an election timeout.
    c.network.cutLink(leaderId, lagging.server.memberId);
    await leader.client.memberAdd({ peerURLs: [c.peerUrl('m4')], isLearner: true });
    assert.equal(lagging.server.members().filter((m) => m.isLearner).length, 0, 'the lagging member has not applied it');
    const appliedBefore = Number((await leader.client.status()).raftAppliedIndex);
    const forwarded = c.network.delivered('MsgProp', leaderId);
    const refused = failure(lagging.client.memberAdd({ peerURLs: [c.peerUrl('m5')], isLearner: true }));
    await forwarded;
    await eventually('the leader applied the second change', async () => Number((await leader.client.status()).raftAppliedIndex) > appliedBefore);
    c.network.heal();
    assert.deepEqual(await refused, { code: status.FAILED_PRECONDITION, details: 'etcdserver: too many learner members in cluster' });
    assert.equal(leader.server.members().filter((m) => m.isLearner).length, 1);
  });

  // etcd types.NewURLs (client/pkg/types/urls.go): host:port required (any port, 80 included), no path.
  it('MemberAdd takes a peer URL on the scheme\'s default port and refuses one with a path', async () => {
    c = await startInProcessCluster(1);
    const leader = await c.leader();
    await settled(leader);
    assert.deepEqual(await failure(leader.client.memberAdd({ peerURLs: ['http://127.0.0.1:2390/raft'], isLearner: true })), {
      code: status.INVALID_ARGUMENT, details: 'etcdserver: given member URLs are invalid',
    });
    const added = await leader.client.memberAdd({ peerURLs: ['http://10.0.0.9:80'], isLearner: true });
    assert.deepEqual(added.member?.peerURLs, ['http://10.0.0.9:80']);
  });

  // etcd types.NewURLs trims and sorts what it parsed; MemberAdd and MemberUpdate keep that list.
  it('MemberAdd and MemberUpdate keep the peer URLs trimmed and sorted', async () => {
    c = await startInProcessCluster(1);
    const leader = await c.leader();
    await settled(leader);
    const added = await leader.client.memberAdd({ peerURLs: ['http://10.0.0.9:2380', ' http://10.0.0.8:2380'], isLearner: true });
    assert.deepEqual(added.member?.peerURLs, ['http://10.0.0.8:2380', 'http://10.0.0.9:2380']);
    await leader.client.memberUpdate({ ID: added.member!.ID, peerURLs: ['http://10.0.0.7:2380 ', 'http://10.0.0.6:2380'] });
    const listed = (await leader.client.memberList()).members.find((m) => m.ID === added.member!.ID);
    assert.deepEqual(listed?.peerURLs, ['http://10.0.0.6:2380', 'http://10.0.0.7:2380']);
  });

  // etcd v3rpc/interceptor.go: a learner answers only Status and serializable Range (isRPCSupportedForLearner).
  it('a learner refuses Cluster and Maintenance calls other than Status, and watches', async () => {
    c = await startInProcessCluster(1);
    const leader = await c.leader();
    await settled(leader);
    await leader.client.memberAdd({ peerURLs: [c.peerUrl('m2')], isLearner: true });
    const initialCluster = [...leader.server.members().filter((m) => m.name !== '').map((m) => `${m.name}=${m.peerURLs[0]}`), `m2=${c.peerUrl('m2')}`].join(',');
    const learner = await c.join('m2', initialCluster);
    await eventually('the learner knows it is one', () => learner.server.isLearner());
    assert.equal((await learner.client.status()).isLearner, true);
    const refused = { code: status.UNAVAILABLE, details: 'etcdserver: rpc not supported for learner' };
    assert.deepEqual(await failure(learner.client.memberList()), refused);
    assert.deepEqual(await failure(learner.client.memberPromote(learner.server.memberId.toString())), refused);
    assert.deepEqual(await failure(learner.client.alarm({ action: 'GET', alarm: 'NONE' })), refused);
    assert.deepEqual(await failure(learner.client.hashKV(0)), refused);
    assert.deepEqual(await failure(learner.client.moveLeader(leader.server.memberId.toString())), refused);
    const watch = learner.client.watchStream();
    const watchRefused = new Promise<{ code: number; details: string }>((resolve) => {
      watch.on('error', (err: ServiceError) => resolve({ code: err.code, details: err.details }));
      watch.on('data', () => resolve({ code: -1, details: 'the watch was answered' }));
    });
    watch.write({ create_request: { key: Buffer.from('a') } });
    assert.deepEqual(await watchRefused, refused);
  });
});
