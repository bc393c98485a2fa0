import assert from 'node:assert/strict';
import { HistoryBuilder } from './history-builder';
import { checkRevisions } from './revision-checker';

const none = {} as Record<string, never>;

describe('revision checker', () => {
  it('accepts revisions that only grow, overlapping answers in any order, and matching mod_revisions', () => {
    const h = new HistoryBuilder();
    h.ok('put', 'a', { value: 'a1' }, none, 0, 1, { revision: 2, member: 'm1' });
    h.ok('put', 'a', { value: 'a2' }, none, 2, 6, { revision: 4, member: 'm2' });
    h.ok('get', 'a', none, { value: 'a1', modRevision: 2 }, 3, 4, { revision: 3, member: 'm3' });
    h.ok('get', 'a', none, { value: 'a2', modRevision: 4 }, 7, 8, { revision: 4, member: 'm1' });
    assert.deepEqual(checkRevisions({ ops: h.ops, watchers: [], finals: [] }), []);
  });

  it('rejects a revision that goes back after another answer completed', () => {
    const h = new HistoryBuilder();
    h.ok('put', 'a', { value: 'a1' }, none, 0, 1, { revision: 5, member: 'm1' });
    h.ok('get', 'b', none, { value: null, modRevision: 0 }, 2, 3, { revision: 4, member: 'm2' });
    assert.match(checkRevisions({ ops: h.ops, watchers: [], finals: [] }).join('\n'), /op 1 \(get b on m2\) answered from revision 4, after op 0 on m1 had completed at revision 5/);
  });

  it('rejects two writes at one revision, and a read whose mod_revision is not its write\'s', () => {
    const h = new HistoryBuilder();
    h.ok('put', 'a', { value: 'a1' }, none, 0, 1, { revision: 2 });
    h.ok('put', 'b', { value: 'b1' }, none, 0, 1, { revision: 2 });
    h.ok('get', 'a', none, { value: 'a1', modRevision: 3 }, 2, 3, { revision: 3 });
    const problems = checkRevisions({ ops: h.ops, watchers: [], finals: [] }).join('\n');
    assert.match(problems, /ops 0 \(a\) and 1 \(b\) were both acknowledged as writes at revision 2/);
    assert.match(problems, /op 2 read a="a1" with mod_revision 3, but that value was written at revision 2/);
  });
});
