import assert from 'node:assert/strict';
import { coalesce } from './coalesce';
import { Network } from './testing/network';
import { Entry, message, Message } from './types';

const [A, B, C] = [1n, 2n, 3n];

function entries(from: number, n: number, term = 1, bytes = 1): Entry[] {
  return Array.from({ length: n }, (_, i) => ({ term, index: from + i, type: 'normal' as const, data: Buffer.alloc(bytes) }));
}

function append(to: bigint, index: number, ents: Entry[], commit: number, logTerm = 1): Message {
  return message({ type: 'MsgApp', to, from: A, term: 1, index, logTerm, entries: ents, commit });
}

const indexes = (m: Message) => m.entries.map((e) => e.index);

describe('coalesce: one message for each run of appends or proposals to a peer', () => {
  it('joins appends that go on where the one before ends, keeping the latest commit and each peer\'s order', () => {
    const out = coalesce([
      append(B, 4, entries(5, 1), 4), append(C, 4, entries(5, 1), 4),
      append(B, 5, entries(6, 2), 5), append(C, 5, entries(6, 2), 5),
      message({ type: 'MsgHeartbeat', to: B, from: A, term: 1, commit: 5 }),
      append(B, 7, entries(8, 1), 6),
    ], 1 << 20);
    assert.deepEqual(out.map((m) => [m.type, m.to, m.index, indexes(m), m.commit]), [
      ['MsgApp', B, 4, [5, 6, 7], 5],
      ['MsgApp', C, 4, [5, 6, 7], 5],
      ['MsgHeartbeat', B, 0, [], 5],
      ['MsgApp', B, 7, [8], 6],
    ]);
  });

  it('leaves apart appends with a gap or overlap between them, of another term, or beyond the size limit', () => {
    const gap = [append(B, 4, entries(5, 1), 4), append(B, 6, entries(7, 1), 4)];
    const overlap = [append(B, 4, entries(5, 2), 4), append(B, 5, entries(6, 1), 4)];
    const otherLogTerm = [append(B, 4, entries(5, 1, 1), 4), append(B, 5, entries(6, 1, 2), 4, 2)];
    const otherTerm = [append(B, 4, entries(5, 1), 4), { ...append(B, 5, entries(6, 1), 4), term: 2 }];
    for (const run of [gap, overlap, otherLogTerm, otherTerm]) assert.equal(coalesce(run, 1 << 20).length, 2);
    const big = [append(B, 4, entries(5, 1, 1, 600), 4), append(B, 5, entries(6, 1, 1, 600), 4)];
    assert.equal(coalesce(big, 1000).length, 2);
    assert.equal(coalesce(big, 1200).length, 1);
  });

  it('joins an append carrying only a commit index with the one that follows it', () => {
    const out = coalesce([append(B, 7, [], 6), append(B, 7, entries(8, 2), 7)], 1 << 20);
    assert.deepEqual(out.map((m) => [m.index, m.logTerm, indexes(m), m.commit]), [[7, 1, [8, 9], 7]]);
  });

  it('joins the proposals a follower forwards to its leader', () => {
    const prop = (data: string) => message({ type: 'MsgProp', to: A, from: B, term: 1, entries: [{ term: 0, index: 0, type: 'normal', data: Buffer.from(data) }] });
    const out = coalesce([prop('x'), prop('y'), prop('z')], 1 << 20);
    assert.deepEqual(out.map((m) => m.entries.map((e) => Buffer.from(e.data).toString())), [['x', 'y', 'z']]);
  });

  it('joins a configuration change with the proposals around it: a leader that cannot take it now ignores that entry alone', () => {
    const prop = (data: string, type: Entry['type'] = 'normal') => message({ type: 'MsgProp', to: A, from: B, term: 1, entries: [{ term: 0, index: 0, type, data: Buffer.from(data) }] });
    const out = coalesce([prop('x'), prop('cc', 'conf-change'), prop('y')], 1 << 20);
    assert.deepEqual(out.map((m) => m.entries.map((e) => [e.type, Buffer.from(e.data).toString()])), [[['normal', 'x'], ['conf-change', 'cc'], ['normal', 'y']]]);
  });

  it('in a cluster: proposals taken in one Ready reach each follower as one append and one answer, and every log agrees', () => {
    const net = new Network([A, B, C]);
    net.elect(A);
    for (const v of ['1', '2', '3', '4', '5']) net.node(A).node.propose(Buffer.from(v));
    for (const v of ['6', '7']) net.node(B).node.propose(Buffer.from(v));
    const before = net.delivered.length;
    net.stabilize();
    net.tick(2);
    const sent = net.delivered.slice(before);
    const toB = sent.filter((m) => m.type === 'MsgApp' && m.to === B && m.entries.length > 0);
    assert.deepEqual(toB.map((m) => m.entries.length), [5, 2]);
    assert.equal(sent.filter((m) => m.type === 'MsgProp').length, 1);
    assert.equal(sent.filter((m) => m.type === 'MsgAppResp' && m.from === B).length, sent.filter((m) => m.type === 'MsgApp' && m.to === B).length);
    const applied = (id: bigint) => net.node(id).stateMachine.filter((e) => e && e.data !== '').map((e) => e.data);
    for (const id of [A, B, C]) assert.deepEqual(applied(id), ['1', '2', '3', '4', '5', '6', '7']);
  });
});
