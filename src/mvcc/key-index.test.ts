import assert from 'node:assert/strict';
import { KeyIndex } from './key-index';
import { revisionId } from './revision';

/** Builds a key's history from a compact script: 'p5' = put at main 5, 't7' = tombstone at 7. */
function history(...steps: string[]): KeyIndex {
  const ki = new KeyIndex('k');
  for (const s of steps) {
    const rev = { main: Number(s.slice(1)), sub: 0 };
    if (s[0] === 'p') ki.put(rev);
    else ki.tombstone(rev);
  }
  return ki;
}

describe('KeyIndex', () => {
  describe('get at a revision', () => {
    const ki = history('p2', 'p4', 't6', 'p8', 'p9');
    const cases: Array<[number, { mod: number; created: number; version: number } | undefined]> = [
      [1, undefined],
      [2, { mod: 2, created: 2, version: 1 }],
      [3, { mod: 2, created: 2, version: 1 }],
      [5, { mod: 4, created: 2, version: 2 }],
      [6, undefined], // deleted at 6
      [7, undefined],
      [8, { mod: 8, created: 8, version: 1 }], // a new life starts over at version 1
      [100, { mod: 9, created: 8, version: 2 }],
    ];
    for (const [atRev, want] of cases) {
      it(`at ${atRev}`, () => {
        const got = ki.get(atRev);
        assert.deepEqual(got && { mod: got.modified.main, created: got.created.main, version: got.version }, want);
      });
    }
  });

  describe('compact keeps what reads at or after the compact revision need', () => {
    const cases: Array<{ steps: string[]; at: number; keep: number[]; empty: boolean; after: Array<[number, number | undefined]> }> = [
      { steps: ['p2', 'p4', 'p6'], at: 5, keep: [4], empty: false, after: [[5, 4], [6, 6]] },
      { steps: ['p2', 'p4', 'p6'], at: 6, keep: [6], empty: false, after: [[6, 6]] },
      { steps: ['p2', 'p4', 'p6'], at: 1, keep: [], empty: false, after: [[2, 2], [3, 2]] },
      // A life that ended before the compact revision vanishes whole.
      { steps: ['p2', 't4'], at: 5, keep: [], empty: true, after: [[5, undefined]] },
      // A delete exactly at the compact revision stays on disk for a watch from that revision.
      { steps: ['p2', 't4'], at: 4, keep: [4], empty: true, after: [[4, undefined]] },
      { steps: ['p2', 't4', 'p6'], at: 5, keep: [], empty: false, after: [[5, undefined], [6, 6]] },
      { steps: ['p2', 't4', 'p6', 'p7'], at: 6, keep: [6], empty: false, after: [[6, 6], [7, 7]] },
      { steps: ['p2', 'p3', 't4'], at: 3, keep: [3], empty: false, after: [[3, 3], [4, undefined]] },
    ];
    for (const c of cases) {
      it(`${c.steps.join(' ')} at ${c.at}`, () => {
        const ki = history(...c.steps);
        const keep = new Set<string>();
        assert.equal(ki.compact(c.at, keep), c.empty);
        assert.deepEqual([...keep].sort(), c.keep.map((m) => revisionId({ main: m, sub: 0 })).sort());
        for (const [atRev, mod] of c.after) assert.equal(ki.get(atRev)?.modified.main, mod, `read at ${atRev}`);
      });
    }
  });

  it('keeps version counting across compaction', () => {
    const ki = history('p2', 'p3', 'p4');
    ki.compact(3, new Set());
    ki.put({ main: 5, sub: 0 });
    assert.equal(ki.get(5)?.version, 4);
    assert.equal(ki.get(5)?.created.main, 2);
  });

  it('restores creation and version from a record whose life began before a compaction', () => {
    const ki = new KeyIndex('k');
    ki.restorePut({ main: 7, sub: 0 }, 3, 5);
    ki.restorePut({ main: 9, sub: 0 }, 3, 6);
    assert.deepEqual(ki.get(9), { modified: { main: 9, sub: 0 }, created: { main: 3, sub: 0 }, version: 6 });
  });

  it('refuses to go back in time', () => {
    const ki = history('p5');
    assert.throws(() => ki.put({ main: 4, sub: 0 }), /not after/);
  });
});
