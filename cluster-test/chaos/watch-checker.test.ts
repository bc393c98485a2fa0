import assert from 'node:assert/strict';
import { HistoryBuilder, watcher } from './history-builder';
import { checkWatches } from './watch-checker';

const none = {} as Record<string, never>;

/** Two acknowledged puts (revisions 2 and 3) and a delete (revision 4). */
function writes(): HistoryBuilder {
  const h = new HistoryBuilder();
  h.ok('put', 'a', { value: 'a1' }, none, 0, 1, { revision: 2 });
  h.ok('put', 'b', { value: 'b1' }, none, 2, 3, { revision: 3 });
  h.ok('delete', 'a', none, { deleted: 1 }, 4, 5, { revision: 4 });
  return h;
}
const all: Array<['PUT' | 'DELETE', string, string, number]> = [['PUT', 'a', 'a1', 2], ['PUT', 'b', 'b1', 3], ['DELETE', 'a', '', 4]];

describe('watch checker', () => {
  it('accepts the same complete stream on every member, and one resumed from a revision', () => {
    const watchers = [watcher(0, 'm1', 1, all, 4), watcher(1, 'm2', 1, all, 4), watcher(2, 'm3', 3, all.slice(1), 4)];
    assert.deepEqual(checkWatches({ ops: writes().ops, watchers, finals: [] }), []);
  });

  it('rejects reordered events', () => {
    const problems = checkWatches({ ops: writes().ops, watchers: [watcher(0, 'm1', 1, [all[1]!, all[0]!, all[2]!], 4)], finals: [] });
    assert.match(problems.join('\n'), /PUT b at revision 2 arrived after revision 3|PUT a at revision 2 arrived after revision 3/);
  });

  it('rejects a duplicated event', () => {
    const problems = checkWatches({ ops: writes().ops, watchers: [watcher(0, 'm1', 1, [all[0]!, all[1]!, all[1]!, all[2]!], 4)], finals: [] });
    assert.match(problems.join('\n'), /PUT b at revision 3 arrived twice/);
  });

  it('rejects a gap against the acknowledged writes, even when every watcher has it', () => {
    const gap = [all[0]!, all[2]!];
    const problems = checkWatches({ ops: writes().ops, watchers: [watcher(0, 'm1', 1, gap, 4), watcher(1, 'm2', 1, gap, 4)], finals: [] });
    assert.equal(problems.length, 2);
    assert.match(problems[0]!, /watcher 0 on m1 from revision 1: missed PUT b at revision 3 \(seen by op 1\)/);
  });

  it('rejects members that disagree about the event at a revision', () => {
    const h = writes();
    h.unknown('put', 'b', { value: 'b2' }, 6, 7);
    const other: typeof all = [all[0]!, ['PUT', 'b', 'b2', 3], all[2]!];
    const problems = checkWatches({ ops: h.ops, watchers: [watcher(0, 'm1', 1, all, 4), watcher(1, 'm2', 1, other, 4)], finals: [] });
    assert.match(problems.join('\n'), /at revision 3 b is PUT "b1" for op 1 but PUT "b2" for watcher 1 on m2/);
  });

  it('rejects a value nobody wrote, and an event from before the start revision', () => {
    const problems = checkWatches({ ops: writes().ops, watchers: [watcher(0, 'm1', 3, [['PUT', 'a', 'a1', 2], ['PUT', 'c', 'x', 5]], 5)], finals: [] });
    assert.match(problems.join('\n'), /a at revision 2, before its start revision/);
    assert.match(problems.join('\n'), /PUT c="x" at revision 5, a value nobody wrote/);
  });
});
