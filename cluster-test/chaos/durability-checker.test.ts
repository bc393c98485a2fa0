import assert from 'node:assert/strict';
import { checkDurability } from './durability-checker';
import { finalState, HistoryBuilder } from './history-builder';

const none = {} as Record<string, never>;

function writes(): HistoryBuilder {
  const h = new HistoryBuilder();
  h.ok('put', 'a', { value: 'a1' }, none, 0, 1, { revision: 2 });
  h.ok('put', 'a', { value: 'a2' }, none, 2, 3, { revision: 3 });
  h.ok('append', 'list/l', { basis: null, item: 'x' }, { succeeded: true }, 4, 5, { revision: 4 });
  h.unknown('put', 'b', { value: 'b1' }, 6, 7);
  return h;
}

describe('durability checker', () => {
  it('accepts a write overwritten later, an unknown write present, the same state everywhere', () => {
    const kvs: Array<[string, string, number]> = [['a', 'a2', 3], ['b', 'b1', 5], ['list/l', 'x', 4]];
    assert.deepEqual(checkDurability({ ops: writes().ops, watchers: [], finals: [finalState('m1', 5, kvs), finalState('m2', 5, kvs)] }), []);
  });

  it('rejects an acknowledged write missing at the end', () => {
    const problems = checkDurability({ ops: writes().ops, watchers: [], finals: [finalState('m1', 5, [['a', 'a1', 2], ['list/l', 'x', 4]])] });
    assert.match(problems.join('\n'), /op 1 \(put a="a2", acknowledged at revision 3\) is lost/);
  });

  it('rejects a key gone that nobody deleted, and an append missing from its list', () => {
    const problems = checkDurability({ ops: writes().ops, watchers: [], finals: [finalState('m1', 5, [['list/l', 'y', 4]])] });
    assert.match(problems.join('\n'), /is gone at the end, and nobody deleted a/);
    assert.match(problems.join('\n'), /item x is not in the final list "y"/);
    assert.match(problems.join('\n'), /ends with list\/l="y", which nobody wrote/);
  });

  it('rejects members that end differently', () => {
    const kvs: Array<[string, string, number]> = [['a', 'a2', 3], ['list/l', 'x', 4]];
    const problems = checkDurability({ ops: writes().ops, watchers: [], finals: [finalState('m1', 5, kvs), finalState('m2', 4, kvs)] });
    assert.match(problems.join('\n'), /m2 ends at revision 4/);
  });
});
