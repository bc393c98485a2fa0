import assert from 'node:assert/strict';
import { parseGoDuration } from './go-duration';

describe('parseGoDuration (Go time.ParseDuration)', () => {
  const cases: Array<[string, number | undefined]> = [
    ['0', 0], ['1h', 3_600_000], ['10m', 600_000], ['1.5h', 5_400_000], ['2h45m', 9_900_000],
    ['300ms', 300], ['500us', 0.5], ['-1s', -1000], ['', undefined], ['5', undefined], ['1d', undefined], ['h', undefined], ['.s', undefined],
  ];
  for (const [text, ms] of cases) it(`"${text}" → ${ms}`, () => assert.equal(parseGoDuration(text), ms));
});
