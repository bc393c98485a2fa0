import assert from 'node:assert/strict';
import { HistoryBuilder } from './history-builder';
import { checkLinearizability, KeyResult } from './linearizability';

/** The single key's result, asserting there is only one key. */
function only(h: HistoryBuilder, maxSteps?: number): KeyResult {
  const result = checkLinearizability(h.ops, maxSteps === undefined ? {} : { maxSteps });
  assert.equal(result.keys.length, 1);
  assert.equal(result.verdict, result.keys[0]!.verdict);
  return result.keys[0]!;
}

const none = {} as Record<string, never>;

describe('linearizability checker: registers', () => {
  it('accepts a sequential history', () => {
    const h = new HistoryBuilder();
    h.ok('get', 'x', none, { value: null, modRevision: 0 }, 0, 1);
    h.ok('put', 'x', { value: 'a' }, none, 2, 3);
    h.ok('get', 'x', none, { value: 'a', modRevision: 2 }, 4, 5);
    h.ok('cas', 'x', { expect: 'a', value: 'b' }, { succeeded: true }, 6, 7);
    h.ok('cas', 'x', { expect: 'a', value: 'c' }, { succeeded: false }, 8, 9);
    h.ok('delete', 'x', none, { deleted: 1 }, 10, 11);
    h.ok('delete', 'x', none, { deleted: 0 }, 12, 13);
    h.ok('get', 'x', none, { value: null, modRevision: 0 }, 14, 15);
    assert.equal(only(h).verdict, 'ok');
  });

  it('accepts overlapping operations in an order other than their invocations', () => {
    const h = new HistoryBuilder();
    h.ok('put', 'x', { value: 'a' }, none, 0, 10);
    h.ok('put', 'x', { value: 'b' }, none, 1, 10);
    // b took effect first, then a: a read inside both sees b, a read after both sees a.
    h.ok('get', 'x', none, { value: 'b', modRevision: 0 }, 2, 3);
    h.ok('get', 'x', none, { value: 'a', modRevision: 0 }, 11, 12);
    assert.equal(only(h).verdict, 'ok');
  });

  it('accepts two concurrent compare-and-sets from the same value when only one succeeded', () => {
    const h = new HistoryBuilder();
    h.ok('put', 'x', { value: 'a' }, none, 0, 1);
    h.ok('cas', 'x', { expect: 'a', value: 'b' }, { succeeded: false }, 2, 6);
    h.ok('cas', 'x', { expect: 'a', value: 'c' }, { succeeded: true }, 3, 5);
    h.ok('get', 'x', none, { value: 'c', modRevision: 0 }, 7, 8);
    assert.equal(only(h).verdict, 'ok');
  });

  it('rejects two compare-and-sets from the same value that both succeeded', () => {
    const h = new HistoryBuilder();
    h.ok('put', 'x', { value: 'a' }, none, 0, 1);
    h.ok('cas', 'x', { expect: 'a', value: 'b' }, { succeeded: true }, 2, 6);
    h.ok('cas', 'x', { expect: 'a', value: 'c' }, { succeeded: true }, 3, 5);
    assert.equal(only(h).verdict, 'illegal');
  });

  it('assumes an unknown write happened when a later read shows it, even long after the client gave up', () => {
    const h = new HistoryBuilder();
    h.ok('put', 'x', { value: 'a' }, none, 0, 1);
    h.unknown('put', 'x', { value: 'b' }, 2, 3);
    h.ok('get', 'x', none, { value: 'a', modRevision: 0 }, 10, 11);
    h.ok('get', 'x', none, { value: 'b', modRevision: 0 }, 20, 21);
    assert.equal(only(h).verdict, 'ok');
  });

  it('assumes an unknown write did not happen when nothing shows it', () => {
    const h = new HistoryBuilder();
    h.ok('put', 'x', { value: 'a' }, none, 0, 1);
    h.unknown('put', 'x', { value: 'b' }, 2, 3);
    h.unknown('cas', 'x', { expect: 'a', value: 'c' }, 2, 3);
    h.ok('get', 'x', none, { value: 'a', modRevision: 0 }, 10, 11);
    assert.equal(only(h).verdict, 'ok');
  });

  it('places an unknown write nobody read where it explains a failed compare-and-set, but only once', () => {
    const h = new HistoryBuilder();
    h.ok('put', 'x', { value: 'a' }, none, 0, 1);
    h.unknown('put', 'x', { value: 'b' }, 2, 3);
    h.ok('cas', 'x', { expect: 'a', value: 'c' }, { succeeded: false }, 10, 11);
    h.ok('put', 'x', { value: 'a2' }, none, 12, 13);
    assert.equal(only(h).verdict, 'ok');
    // A second failure from the value then current needs a second unknown write: there is none.
    h.ok('cas', 'x', { expect: 'a2', value: 'd' }, { succeeded: false }, 14, 15);
    assert.equal(only(h).verdict, 'illegal');
    // An unknown delete explains it...
    h.unknown('delete', 'x', none, 12, 13);
    assert.equal(only(h).verdict, 'ok');
    // ...unless a later read still sees a2.
    h.ok('get', 'x', none, { value: 'a2', modRevision: 0 }, 16, 17);
    assert.equal(only(h).verdict, 'illegal');
  });

  it('rejects an unknown write that would have to happen twice', () => {
    const h = new HistoryBuilder();
    h.ok('put', 'x', { value: 'a' }, none, 0, 1);
    h.unknown('put', 'x', { value: 'b' }, 2, 3);
    h.ok('get', 'x', none, { value: 'b', modRevision: 0 }, 10, 11);
    h.ok('put', 'x', { value: 'c' }, none, 12, 13);
    h.ok('get', 'x', none, { value: 'b', modRevision: 0 }, 14, 15);
    assert.equal(only(h).verdict, 'illegal');
  });

  it('treats a failed write as never applied', () => {
    const h = new HistoryBuilder();
    h.ok('put', 'x', { value: 'a' }, none, 0, 1);
    h.failed('put', 'x', { value: 'b' }, 2, 3);
    h.ok('get', 'x', none, { value: 'b', modRevision: 0 }, 10, 11);
    assert.equal(only(h).verdict, 'illegal');
  });

  it('rejects a stale read and explains it with the key, the longest prefix and the read it cannot place', () => {
    const h = new HistoryBuilder();
    const a = h.ok('put', 'x', { value: 'a' }, none, 0, 1);
    const b = h.ok('put', 'x', { value: 'b' }, none, 2, 3);
    const stale = h.ok('get', 'x', none, { value: 'a', modRevision: 0 }, 4, 5);
    const result = only(h);
    assert.equal(result.verdict, 'illegal');
    if (result.verdict !== 'illegal') return;
    assert.equal(result.key, 'x');
    assert.deepEqual(result.prefix.map((o) => o.id), [a.id, b.id]);
    assert.equal(result.state, '"b"');
    assert.deepEqual(result.unplaced.map((o) => o.id), [stale.id]);
  });

  it('rejects a lost write: an acknowledged put a later read does not see', () => {
    const h = new HistoryBuilder();
    h.ok('put', 'x', { value: 'a' }, none, 0, 1);
    h.ok('get', 'x', none, { value: null, modRevision: 0 }, 2, 3);
    assert.equal(only(h).verdict, 'illegal');
  });

  it('rejects a read of a value nobody wrote', () => {
    const h = new HistoryBuilder();
    h.ok('put', 'x', { value: 'a' }, none, 0, 10);
    h.ok('get', 'x', none, { value: 'zzz', modRevision: 0 }, 5, 6);
    assert.equal(only(h).verdict, 'illegal');
  });

  it('rejects a delete that reports the wrong count', () => {
    const h = new HistoryBuilder();
    h.ok('put', 'x', { value: 'a' }, none, 0, 1);
    h.ok('delete', 'x', none, { deleted: 0 }, 2, 3);
    assert.equal(only(h).verdict, 'illegal');
  });

  it('checks keys separately and names the one that is not linearizable', () => {
    const h = new HistoryBuilder();
    h.ok('put', 'x', { value: 'a' }, none, 0, 1);
    h.ok('get', 'x', none, { value: 'a', modRevision: 0 }, 2, 3);
    h.ok('put', 'y', { value: 'a' }, none, 0, 1);
    h.ok('get', 'y', none, { value: null, modRevision: 0 }, 2, 3);
    const result = checkLinearizability(h.ops);
    assert.equal(result.verdict, 'illegal');
    assert.deepEqual(result.keys.map((k) => [k.key, k.verdict]), [['x', 'ok'], ['y', 'illegal']]);
  });

  it('reports timeout, not ok, when the search needs more steps than allowed', () => {
    const h = new HistoryBuilder();
    // Ten concurrent writes then a read of the first: the search has to try many orders.
    for (let i = 0; i < 10; i++) h.ok('put', 'x', { value: `v${i}` }, none, 0, 100);
    h.ok('get', 'x', none, { value: 'v0', modRevision: 0 }, 101, 102);
    assert.equal(only(h, 5).verdict, 'timeout');
    assert.equal(only(h).verdict, 'ok');
  });
});

describe('linearizability checker: append-only lists', () => {
  const list = 'list/l';

  it('accepts appends that each extend what the client read, and reads of the whole list', () => {
    const h = new HistoryBuilder();
    h.ok('append', list, { basis: null, item: 'a' }, { succeeded: true }, 0, 1);
    h.ok('append', list, { basis: 'a', item: 'b' }, { succeeded: true }, 2, 6);
    // Read 'a' too: this append lost the race to the one above.
    h.ok('append', list, { basis: 'a', item: 'c' }, { succeeded: false }, 3, 7);
    h.ok('get', list, none, { value: 'a', modRevision: 0 }, 3, 4);
    h.ok('get', list, none, { value: 'a,b', modRevision: 0 }, 8, 9);
    assert.equal(only(h).verdict, 'ok');
  });

  it('accepts an unknown append that a later read shows', () => {
    const h = new HistoryBuilder();
    h.ok('append', list, { basis: null, item: 'a' }, { succeeded: true }, 0, 1);
    h.unknown('append', list, { basis: 'a', item: 'b' }, 2, 3);
    h.ok('get', list, none, { value: 'a,b', modRevision: 0 }, 10, 11);
    assert.equal(only(h).verdict, 'ok');
  });

  it('rejects a read that misses an acknowledged append', () => {
    const h = new HistoryBuilder();
    h.ok('append', list, { basis: null, item: 'a' }, { succeeded: true }, 0, 1);
    h.ok('append', list, { basis: 'a', item: 'b' }, { succeeded: true }, 2, 3);
    h.ok('get', list, none, { value: 'a', modRevision: 0 }, 4, 5);
    assert.equal(only(h).verdict, 'illegal');
  });

  it('rejects a read with the appends in another order', () => {
    const h = new HistoryBuilder();
    h.ok('append', list, { basis: null, item: 'a' }, { succeeded: true }, 0, 1);
    h.ok('append', list, { basis: 'a', item: 'b' }, { succeeded: true }, 2, 3);
    h.ok('get', list, none, { value: 'b,a', modRevision: 0 }, 4, 5);
    assert.equal(only(h).verdict, 'illegal');
  });

  it('rejects an append that succeeded although the list had changed since the client read it', () => {
    const h = new HistoryBuilder();
    h.ok('append', list, { basis: null, item: 'a' }, { succeeded: true }, 0, 1);
    h.ok('append', list, { basis: 'a', item: 'b' }, { succeeded: true }, 2, 3);
    h.ok('append', list, { basis: 'a', item: 'c' }, { succeeded: true }, 4, 5);
    assert.equal(only(h).verdict, 'illegal');
  });
});
