import assert from 'node:assert/strict';
import { humanDuration } from './human-duration';

describe('humanDuration (the AGE column)', () => {
  it('prints ages the way kubectl shows them', () => {
    const s = 1000;
    const cases: Array<[number, string]> = [
      [0, '0s'], [119 * s, '119s'], [185 * s, '3m5s'], [600 * s, '10m'], [179 * 60 * s, '179m'], [3 * 3600 * s + 60 * s, '3h1m'],
      [47 * 3600 * s, '47h'], [50 * 3600 * s, '2d2h'], [30 * 86400 * s, '30d'], [800 * 86400 * s, '2y70d'], [9 * 365 * 86400 * s, '9y'],
    ];
    for (const [ms, text] of cases) assert.equal(humanDuration(ms), text, `${ms} ms`);
  });
});
