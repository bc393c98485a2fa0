import assert from 'node:assert/strict';
import { recordsOf, visitRecords } from './state-snapshot';

/** Records laid out as a dump lays them: key length, value length, key, value. */
function laidOut(records: Array<[string, string]>): Buffer {
  return Buffer.concat(records.map(([k, v]) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(k.length, 0);
    head.writeUInt32BE(v.length, 4);
    return Buffer.concat([head, Buffer.from(k), Buffer.from(v)]);
  }));
}

describe('visitRecords', () => {
  const records: Array<[string, string]> = [['a', 'one'], ['bb', ''], ['c', 'three'], ['dd', 'four']];

  it('gives each record once, in order, a slice at a time, as recordsOf gives them', () => {
    const data = laidOut(records);
    const seen: Array<[string, string]> = [];
    const slices: number[] = [];
    for (let at = 0; at < data.length;) {
      const before = seen.length;
      at = visitRecords(data, at, 3, (keyStart, valueStart, valueEnd) => {
        seen.push([data.toString('latin1', keyStart, valueStart), data.toString('latin1', valueStart, valueEnd)]);
      });
      slices.push(seen.length - before);
    }
    assert.deepEqual(slices, [3, 1]);
    assert.deepEqual(seen, [...recordsOf(data, 0)].map(([k, v]) => [k.toString(), v.toString()]));
  });

  it('stops before a record cut short and says where it starts', () => {
    const whole = laidOut(records.slice(0, 2));
    const data = laidOut(records).subarray(0, whole.length + 10);
    let visited = 0;
    assert.equal(visitRecords(data, 0, 100, () => visited++), whole.length);
    assert.equal(visited, 2);
  });
});
