import assert from 'node:assert/strict';
import { committedIndex } from './quorum';

describe('committedIndex', () => {
  const cases: Array<[number[], number]> = [
    [[7], 7],
    [[3, 9], 3],
    [[9, 3, 5], 5],
    [[5, 5, 1], 5],
    [[1, 8, 4, 6], 4],
    [[10, 2, 7, 2, 9], 7],
    [[0, 0, 4, 4, 4, 0, 4], 4],
  ];
  for (const [matched, want] of cases) {
    it(`is ${want} for voters matched at ${matched.join(', ')}: what a majority holds`, () => {
      assert.equal(committedIndex([...matched]), want);
      // Checked against the definition: at least a majority has matched it, and nothing larger has that.
      const atLeast = (i: number) => matched.filter((m) => m >= i).length;
      assert.ok(atLeast(want) > matched.length / 2);
      assert.ok(atLeast(want + 1) <= matched.length / 2);
    });
  }

  it('waits for nothing without voters', () => {
    assert.equal(committedIndex([]), Number.MAX_SAFE_INTEGER);
  });
});
