import assert from 'node:assert/strict';
import { Network } from '../raft/testing/network';
import { readContext } from './read-index';

describe('readContext', () => {
  it('lets no heartbeat answer of another member\'s read round confirm a deposed leader\'s read', () => {
    const [a, b, c] = [1n, 2n, 3n];
    const net = new Network([a, b, c]);
    net.elect(a);
    net.propose(a, 'x0');
    // B's first read round goes through the leader A; C's heartbeat answer for it is held back.
    net.node(b).node.readIndex(readContext(b, 1));
    for (const m of net.node(b).processReady()) net.deliver(m);
    for (const m of net.node(a).processReady()) net.deliver(m);
    const fromB = net.node(b).processReady();
    const late = net.node(c).processReady().find((m) => m.type === 'MsgHeartbeatResp');
    assert.ok(late !== undefined);
    for (const m of fromB) net.deliver(m);
    net.stabilize();
    assert.equal(net.node(b).readStates.length, 1, 'B\'s read was answered by A and B');
    // A is cut off; B and C elect a new leader, which commits x1 that A never hears of.
    net.isolate(a);
    for (let i = 0; i < 50 && net.leaders().every((n) => n.id === a); i++) {
      net.node(b).node.tick();
      net.node(c).node.tick();
      net.stabilize();
    }
    const successor = net.leaders().find((n) => n.id !== a)!;
    net.propose(successor.id, 'x1');
    assert.equal(net.node(a).node.raft.state, 'leader', 'A has not noticed yet');
    // A's own first read round: only the late answer from C reaches it.
    net.node(a).node.readIndex(readContext(a, 1));
    net.node(a).processReady();
    net.node(a).node.step(late);
    net.node(a).processReady();
    assert.deepEqual(net.node(a).readStates, [], 'a read answered at A would miss x1');
  });
});
