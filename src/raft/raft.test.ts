import assert from 'node:assert/strict';
import { ProposalDroppedError } from './errors';
import { Network } from './testing/network';
import { NodeId } from './types';

const [A, B, C, D, E] = [1n, 2n, 3n, 4n, 5n];

function appliedData(net: Network, id: NodeId): string[] {
  return net.node(id).stateMachine.filter((e) => e && e.data !== '').map((e) => e.data);
}

describe('raft paper §5.2 leader election', () => {
  it('a campaigning node with a quorum becomes the only leader, and the others follow it', () => {
    const net = new Network([A, B, C]);
    net.elect(A);
    assert.deepEqual(net.leaders().map((n) => n.id), [A]);
    for (const id of [B, C]) {
      assert.equal(net.node(id).node.raft.state, 'follower');
      assert.equal(net.node(id).node.raft.lead, A);
      assert.equal(net.node(id).node.raft.term, 1);
    }
  });

  it('a candidate cut off from the others cannot win', () => {
    const net = new Network([A, B, C]);
    net.isolate(A);
    net.elect(A);
    assert.equal(net.leaders().length, 0);
    // With pre-vote it never even raised its term.
    assert.equal(net.node(A).node.raft.term, 0);
    assert.equal(net.node(A).node.raft.state, 'pre-candidate');
  });

  it('elects a leader by itself after the election timeout', () => {
    const net = new Network([A, B, C], 7);
    net.tick(25); // randomized timeouts lie in [10, 20)
    assert.equal(net.leaders().length, 1);
  });

  it('a node votes at most once per term', () => {
    const net = new Network([A, B, C], 1, { preVote: false });
    net.isolate(C);
    net.elect(A);
    const term = net.node(B).node.raft.term;
    assert.equal(net.node(B).node.raft.vote, A);
    net.node(B).node.step({ type: 'MsgVote', from: C, to: B, term, logTerm: 1, index: 99, entries: [], commit: 0, reject: false, rejectHint: 0 });
    const reply = net.node(B).processReady().find((m) => m.type === 'MsgVoteResp');
    assert.equal(reply?.reject, true);
  });

  it('rejects a candidate whose log is behind (§5.4.1)', () => {
    const net = new Network([A, B, C]);
    net.elect(A);
    net.isolate(C);
    net.propose(A, 'x');
    net.recover();
    // C missed "x"; it cannot win against A and B.
    net.node(C).node.campaign();
    net.tick(2);
    assert.notEqual(net.leaders()[0]?.id, C);
    assert.deepEqual(appliedData(net, C), ['x'], 'C caught up from the leader instead');
  });
});

describe('raft paper §5.3 log replication', () => {
  it('commits a proposal on every member and applies it in order', () => {
    const net = new Network([A, B, C]);
    net.elect(A);
    for (const v of ['1', '2', '3']) net.propose(A, v);
    net.tick(2); // heartbeats carry the final commit index to followers
    for (const id of [A, B, C]) assert.deepEqual(appliedData(net, id), ['1', '2', '3']);
  });

  it('forwards a follower\'s proposal to the leader', () => {
    const net = new Network([A, B, C]);
    net.elect(A);
    net.propose(C, 'from-c');
    net.tick(2);
    for (const id of [A, B, C]) assert.deepEqual(appliedData(net, id), ['from-c']);
  });

  it('drops a proposal when there is no leader', () => {
    const net = new Network([A, B, C]);
    assert.throws(() => net.node(A).node.propose(Buffer.from('x')), ProposalDroppedError);
  });

  it('commits with a majority while a minority is down, and catches the minority up', () => {
    const net = new Network([A, B, C, D, E]);
    net.elect(A);
    net.node(D).crash();
    net.node(E).crash();
    net.propose(A, 'x');
    assert.deepEqual(appliedData(net, A), ['x']);
    net.node(D).restart();
    net.node(E).restart();
    net.tick(3);
    assert.deepEqual(appliedData(net, D), ['x']);
    assert.deepEqual(appliedData(net, E), ['x']);
  });

  it('does not commit without a majority', () => {
    const net = new Network([A, B, C]);
    net.elect(A);
    net.isolate(A);
    net.node(A).node.propose(Buffer.from('lonely'));
    net.stabilize();
    assert.equal(net.node(A).node.raft.log.committed, 1, 'only the empty entry of its term is committed');
  });

  it('overwrites a deposed leader\'s uncommitted entries (§5.3)', () => {
    const net = new Network([A, B, C]);
    net.elect(A);
    net.isolate(A);
    for (const v of ['lost-1', 'lost-2']) net.node(A).node.propose(Buffer.from(v));
    net.stabilize();
    net.tick(30); // B or C times out and is elected by the two of them
    const leader = net.leaders().find((n) => n.id !== A)!;
    net.propose(leader.id, 'kept');
    net.recover();
    net.tick(30);
    for (const id of [A, B, C]) assert.deepEqual(appliedData(net, id), ['kept']);
    assert.equal(net.node(A).node.raft.state, 'follower');
  });

  it('finds the match point of a follower with a long divergent log in few round trips', () => {
    const net = new Network([A, B, C], 3, { maxSizePerMsg: 1 });
    net.elect(A);
    net.isolate(A);
    for (let i = 0; i < 100; i++) net.node(A).node.propose(Buffer.from(`stale-${i}`));
    net.stabilize();
    net.tick(30);
    const leader = net.leaders().find((n) => n.id !== A)!;
    for (let i = 0; i < 5; i++) net.propose(leader.id, `new-${i}`);
    net.recover();
    const before = net.delivered.length;
    net.tick(30);
    const rejections = net.delivered.slice(before).filter((m) => m.type === 'MsgAppResp' && m.reject && m.from === A);
    assert.ok(rejections.length <= 3, `${rejections.length} rejections: backtracking went entry by entry`);
    assert.deepEqual(appliedData(net, A), ['new-0', 'new-1', 'new-2', 'new-3', 'new-4']);
  });
});

describe('raft thesis: pre-vote and check-quorum', () => {
  it('a node rejoining after a partition does not depose a healthy leader', () => {
    const net = new Network([A, B, C]);
    net.elect(A);
    net.isolate(C);
    net.tick(50); // C campaigns again and again, but pre-vote keeps its term
    assert.equal(net.node(C).node.raft.term, 1);
    net.recover();
    net.tick(5);
    assert.equal(net.leaders()[0]?.id, A);
    assert.equal(net.node(A).node.raft.term, 1);
  });

  it('a leader that loses its quorum steps down', () => {
    const net = new Network([A, B, C]);
    net.elect(A);
    net.isolate(A);
    net.tick(25);
    assert.notEqual(net.node(A).node.raft.state, 'leader');
  });
});

describe('raft thesis §6.4 ReadIndex', () => {
  const reads = (net: Network, id: NodeId) =>
    net.node(id).readStates.map((s) => [s.index, Buffer.from(s.requestCtx).toString()]);

  it('answers once a heartbeat round confirms leadership, at the commit index', () => {
    const net = new Network([A, B, C]);
    net.elect(A);
    net.propose(A, 'x');
    net.ignore('MsgHeartbeatResp');
    net.node(A).node.readIndex(Buffer.from('ctx-1'));
    net.stabilize();
    assert.deepEqual(reads(net, A), [], 'no quorum has confirmed the leadership yet');
    net.recover();
    net.node(A).node.readIndex(Buffer.from('ctx-2'));
    net.stabilize();
    // One confirmed round answers every read queued before it.
    assert.deepEqual(reads(net, A), [[2, 'ctx-1'], [2, 'ctx-2']]);
  });

  it('serves a follower\'s read through the leader', () => {
    const net = new Network([A, B, C]);
    net.elect(A);
    net.propose(A, 'x');
    net.node(B).node.readIndex(Buffer.from('ctx-b'));
    net.stabilize();
    assert.deepEqual(reads(net, B), [[2, 'ctx-b']]);
  });

  it('holds a new leader\'s reads until an entry of its term commits', () => {
    const net = new Network([A, B, C]);
    net.ignore('MsgAppResp');
    net.elect(A);
    net.node(A).node.readIndex(Buffer.from('early'));
    net.stabilize();
    assert.deepEqual(reads(net, A), []);
    net.recover();
    net.tick(1);
    assert.deepEqual(reads(net, A), [[1, 'early']]);
  });

  it('gives no read point while isolated', () => {
    const net = new Network([A, B, C]);
    net.elect(A);
    net.isolate(A);
    net.node(A).node.readIndex(Buffer.from('ctx'));
    net.stabilize();
    assert.deepEqual(reads(net, A), []);
  });
});

describe('raft thesis §3.10 leadership transfer', () => {
  it('hands leadership to an up-to-date follower', () => {
    const net = new Network([A, B, C]);
    net.elect(A);
    net.propose(A, 'x');
    net.node(A).node.transferLeader(C);
    net.stabilize();
    assert.deepEqual(net.leaders().map((n) => n.id), [C]);
    net.propose(C, 'y');
    net.tick(2);
    assert.deepEqual(appliedData(net, A), ['x', 'y']);
  });

  it('refuses proposals while a transfer is under way', () => {
    const net = new Network([A, B, C]);
    net.elect(A);
    net.isolate(C);
    net.node(A).node.transferLeader(C);
    assert.throws(() => net.node(A).node.propose(Buffer.from('x')), ProposalDroppedError);
    net.tick(11); // the transfer times out after an election timeout
    net.node(A).node.propose(Buffer.from('x'));
  });
});

describe('raft: log compaction and snapshots', () => {
  it('catches up a follower behind the compacted log with a snapshot', () => {
    const net = new Network([A, B, C]);
    net.elect(A);
    net.node(C).crash();
    for (let i = 0; i < 20; i++) net.propose(A, `v${i}`);
    net.node(A).compact(2);
    assert.ok(net.node(A).storage.firstIndex() > 5);
    net.node(C).restart();
    net.tick(5);
    const sent = net.delivered.filter((m) => m.type === 'MsgSnap' && m.to === C);
    assert.equal(sent.length, 1);
    assert.deepEqual(appliedData(net, C), Array.from({ length: 20 }, (_, i) => `v${i}`));
    net.propose(A, 'after');
    net.tick(2);
    assert.equal(appliedData(net, C).at(-1), 'after');
  });

  it('restarts from its own snapshot and log', () => {
    const net = new Network([A, B, C]);
    net.elect(A);
    for (let i = 0; i < 10; i++) net.propose(A, `v${i}`);
    net.tick(2);
    net.node(B).compact(3);
    net.node(B).crash();
    net.node(B).restart();
    net.tick(3);
    assert.deepEqual(appliedData(net, B), Array.from({ length: 10 }, (_, i) => `v${i}`));
  });
});
