import assert from 'node:assert/strict';
import { Revision } from './revision';
import { KeySpan, TreeIndex } from './tree-index';

/** Deletes `key` as a DeleteRange does. */
function tombstone(t: TreeIndex, key: string, rev: Revision): void {
  t.aliveFrom({ start: key, end: undefined }, 1)[0]!.tombstone(rev);
}

function index(): TreeIndex {
  const t = new TreeIndex();
  // rev 1: a, b, c; rev 2: b again; rev 3: delete c; rev 4: d, \xff
  t.put('a', { main: 1, sub: 0 });
  t.put('b', { main: 1, sub: 1 });
  t.put('c', { main: 1, sub: 2 });
  t.put('b', { main: 2, sub: 0 });
  tombstone(t, 'c', { main: 3, sub: 0 });
  t.put('d', { main: 4, sub: 0 });
  t.put('\xff', { main: 4, sub: 1 });
  return t;
}

describe('TreeIndex', () => {
  it('returns from a put the key as it stood just before it, earlier puts of the same revision included', () => {
    const t = new TreeIndex();
    assert.equal(t.put('k', { main: 5, sub: 0 }), undefined, 'a new key');
    assert.deepEqual(t.put('k', { main: 5, sub: 1 }), { modified: { main: 5, sub: 0 }, created: { main: 5, sub: 0 }, version: 1 });
    assert.deepEqual(t.put('k', { main: 6, sub: 0 }), { modified: { main: 5, sub: 1 }, created: { main: 5, sub: 0 }, version: 2 });
    tombstone(t, 'k', { main: 7, sub: 0 });
    assert.equal(t.put('k', { main: 8, sub: 0 }), undefined, 'deleted, then created again');
  });

  const cases: Array<{ name: string; span: KeySpan; atRev: number; limit: number; keys: string[]; total: number }> = [
    { name: 'single key', span: { start: 'b', end: undefined }, atRev: 4, limit: 0, keys: ['b'], total: 1 },
    { name: 'missing key', span: { start: 'zz', end: undefined }, atRev: 4, limit: 0, keys: [], total: 0 },
    { name: 'half-open range', span: { start: 'a', end: 'c' }, atRev: 4, limit: 0, keys: ['a', 'b'], total: 2 },
    { name: 'from key', span: { start: 'b', end: '' }, atRev: 4, limit: 0, keys: ['b', 'd', '\xff'], total: 3 },
    { name: 'all keys, history', span: { start: '\x00', end: '' }, atRev: 2, limit: 0, keys: ['a', 'b', 'c'], total: 3 },
    { name: 'limit counts all', span: { start: '\x00', end: '' }, atRev: 4, limit: 2, keys: ['a', 'b'], total: 4 },
    { name: 'empty when end before start', span: { start: 'c', end: 'a' }, atRev: 4, limit: 0, keys: [], total: 0 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { keys, total } = index().range(c.span, c.atRev, c.limit);
      assert.deepEqual(keys.map((k) => k.key), c.keys);
      assert.equal(total, c.total);
    });
  }

  it('reports the revision each key resolves to', () => {
    const { keys } = index().range({ start: 'b', end: undefined }, 1, 0);
    assert.deepEqual(keys[0]?.modified, { main: 1, sub: 1 });
    assert.equal(index().range({ start: 'b', end: undefined }, 2, 0).keys[0]?.version, 2);
  });

  it('finds keys alive at the head for deletes, at most as many as asked', () => {
    const alive = (span: KeySpan, limit: number) => index().aliveFrom(span, limit).map((ki) => ki.key);
    assert.deepEqual(alive({ start: 'a', end: 'e' }, 10), ['a', 'b', 'd']);
    assert.deepEqual(alive({ start: 'a', end: 'e' }, 2), ['a', 'b']);
    assert.deepEqual(alive({ start: 'b\0', end: '' }, 10), ['d', '\xff'], 'from the key after b');
    assert.deepEqual(alive({ start: 'c', end: undefined }, 10), [], 'a deleted key');
    assert.deepEqual(alive({ start: 'd', end: undefined }, 10), ['d']);
  });

  it('forgets keys whose whole history is compacted away', () => {
    const t = index();
    const keep = t.compact(3);
    assert.equal(t.size, 4);
    assert.ok(keep.has('3_0'), 'the delete at the compact revision stays on disk');
    assert.ok(keep.has('2_0') && keep.has('1_0') && !keep.has('1_1'));
  });
});
