import assert from 'node:assert/strict';
import { ConfChange, ConfChangeType, decodeConfChange, encodeConfChange } from './conf-change';
import { Network } from './testing/network';
import { NodeId } from './types';

const [A, B, C, D] = [1n, 2n, 3n, 4n];

function change(type: ConfChangeType, nodeId: NodeId): ConfChange {
  return { type, nodeId, context: new Uint8Array() };
}

function applied(net: Network, id: NodeId): string[] {
  return net.node(id).stateMachine.filter((e) => e && e.data.startsWith('v')).map((e) => e.data);
}

describe('raft configuration changes (one member at a time)', () => {
  it('encodes and decodes a change with its context', () => {
    const cc = { type: 'add-learner-node' as const, nodeId: 0xfedcba9876543210n, context: Buffer.from('{"name":"x"}') };
    const back = decodeConfChange(encodeConfChange(cc));
    assert.equal(back.type, cc.type);
    assert.equal(back.nodeId, cc.nodeId);
    assert.deepEqual(Buffer.from(back.context), cc.context);
  });

  it('adds a voter that catches up from nothing and then counts toward the quorum', () => {
    const net = new Network([A, B, C]);
    net.elect(A);
    net.propose(A, 'v1');
    net.addNode(D);
    net.proposeConfChange(A, change('add-node', D));
    assert.deepEqual(net.node(A).node.raft.voters.sort(), [A, B, C, D]);
    net.tick(1);
    assert.deepEqual(applied(net, D), ['v1']);
    assert.equal(net.node(D).node.raft.lead, A);
    // With four voters, A and one other are not a quorum any more.
    net.isolate(C);
    net.isolate(D);
    net.propose(A, 'v2');
    assert.deepEqual(applied(net, B), ['v1']);
    net.recover();
    net.tick(1);
    assert.deepEqual(applied(net, D), ['v1', 'v2']);
  });

  it('replicates to a learner without counting it, and counts it once promoted', () => {
    const net = new Network([A, B]);
    net.elect(A);
    net.addNode(C);
    net.proposeConfChange(A, change('add-learner-node', C));
    net.propose(A, 'v1');
    assert.deepEqual(applied(net, C), ['v1']);
    // A and the learner alone cannot commit: B is the only other voter.
    net.isolate(B);
    net.propose(A, 'v2');
    assert.deepEqual(applied(net, C), ['v1']);
    // A learner never campaigns, however long it waits.
    net.node(C).node.campaign();
    net.stabilize();
    assert.equal(net.node(C).node.raft.state, 'follower');
    net.recover();
    net.tick(1);
    net.proposeConfChange(A, change('add-node', C));
    assert.equal(net.node(A).node.raft.prs.get(C)!.isLearner, false);
    // Now A and C are two of three voters.
    net.isolate(B);
    net.propose(A, 'v3');
    assert.deepEqual(applied(net, C), ['v1', 'v2', 'v3']);
  });

  it('turns a second change while the first is not applied into an empty entry, as etcd does', () => {
    const net = new Network([A, B, C]);
    net.elect(A);
    net.isolate(B);
    net.isolate(C);
    net.node(A).node.proposeConfChange(change('add-node', D));
    net.node(A).node.proposeConfChange(change('remove-node', C));
    net.node(A).node.propose(Buffer.from('v1'));
    const log = net.node(A).node.raft.log;
    const tail = log.slice(log.lastIndex() - 2, log.lastIndex() + 1);
    assert.deepEqual(tail.map((e) => e.type), ['conf-change', 'normal', 'normal']);
    assert.equal(decodeConfChange(tail[0]!.data).nodeId, D);
    assert.deepEqual(tail.slice(1).map((e) => Buffer.from(e.data).toString()), ['', 'v1']);
    net.recover();
    net.addNode(D);
    net.stabilize();
    net.tick(1);
    // Only the first change took effect; the proposal behind the ignored one was applied.
    assert.deepEqual(net.node(A).node.raft.voters.sort(), [A, B, C, D]);
    assert.deepEqual(applied(net, A), ['v1']);
    // Applied now: the next change is accepted.
    net.proposeConfChange(A, change('remove-node', C));
    assert.deepEqual(net.node(A).node.raft.voters.sort(), [A, B, D]);
  });

  it('a removed leader stops counting; the rest elect a leader among themselves and go on', () => {
    const net = new Network([A, B, C]);
    net.elect(A);
    net.proposeConfChange(A, change('remove-node', A));
    // The followers learn of the commit with the next heartbeat, then apply it.
    net.tick(1);
    for (const id of [B, C]) assert.deepEqual(net.node(id).node.raft.voters.sort(), [B, C]);
    net.node(A).crash();
    net.tick(40);
    const leader = net.leaders()[0];
    assert.ok(leader !== undefined && leader.id !== A, 'a new leader among B and C');
    net.propose(leader.id, 'v1');
    assert.deepEqual(applied(net, B), ['v1']);
    assert.deepEqual(applied(net, C), ['v1']);
  });

  it('a removed follower never campaigns again', () => {
    const net = new Network([A, B, C]);
    net.elect(A);
    net.proposeConfChange(A, change('remove-node', C));
    net.tick(1);
    assert.equal(net.node(C).node.raft.promotable(), false);
    net.isolate(A);
    net.node(C).node.campaign();
    net.stabilize();
    assert.notEqual(net.node(C).node.raft.state, 'leader');
    assert.notEqual(net.node(C).node.raft.state, 'pre-candidate');
  });

  it('a smaller quorum commits what was stuck once a dead member is removed', () => {
    const net = new Network([A, B, C, D]);
    net.elect(A);
    net.node(C).crash();
    net.node(D).crash();
    // A and B are two of four: no quorum for anything, not even the removal.
    net.node(A).node.propose(Buffer.from('v1'));
    net.stabilize();
    assert.deepEqual(applied(net, A), []);
    // Restore D long enough to commit the removal of C, then lose D again.
    net.node(D).restart();
    net.proposeConfChange(A, change('remove-node', C));
    net.tick(1);
    net.node(D).crash();
    net.proposeConfChange(A, change('remove-node', D));
    net.tick(1);
    assert.deepEqual(net.node(A).node.raft.voters.sort(), [A, B]);
    net.propose(A, 'v2');
    assert.deepEqual(applied(net, B), ['v1', 'v2']);
  });
});
