import assert from 'node:assert/strict';
import { parseQuantity, podRequests } from './quantity';

describe('resource quantities', () => {
  const table: Array<[string, number]> = [
    ['100m', 0.1], ['1', 1], ['1.5', 1.5], ['2k', 2000], ['128Mi', 128 * 2 ** 20], ['1Gi', 2 ** 30], ['1G', 1e9], ['1e3', 1000], ['.5', 0.5],
  ];
  for (const [q, want] of table) it(`${q} = ${want}`, () => assert.equal(parseQuantity(q), want));

  it('refuses what is not a quantity', () => {
    for (const q of ['', 'abc', '1 Mi', '1MiB', '--1', true, {}]) assert.throws(() => parseQuantity(q), /quantities must match/);
  });

  it('sums the requests of a pod\'s containers, counting absent ones as 0', () => {
    const pod = { spec: { containers: [{ resources: { requests: { cpu: '250m', memory: '64Mi' } } }, { resources: { requests: { cpu: '1' } } }, {}] } };
    assert.deepEqual(podRequests(pod), { cpu: 1.25, memory: 64 * 2 ** 20 });
  });
});
