import assert from 'node:assert/strict';
import { covers, keyInterval } from './key-interval';

const b = (s: string) => Buffer.from(s);
const iv = (key: string, end: string) => keyInterval(b(key), end === '\\0' ? Buffer.from([0]) : b(end));

describe('key-interval covers (permission checks)', () => {
  const table: Array<[string, Array<[string, string]>, [string, string], boolean]> = [
    ['a single key granted holds that key', [['foo', '']], ['foo', ''], true],
    ['a single key granted holds no other key', [['foo', '']], ['fop', ''], false],
    ['a single key does not hold a range starting at it', [['foo', '']], ['foo', 'foz'], false],
    ['a prefix grant holds a key under it', [['foo/', 'foo0']], ['foo/a', ''], true],
    ['a prefix grant holds a sub-range', [['foo/', 'foo0']], ['foo/a', 'foo/b'], true],
    ['a prefix grant does not hold a range past it', [['foo/', 'foo0']], ['foo/a', 'fop'], false],
    ['two touching grants hold the range across them', [['a', 'c'], ['c', 'e']], ['b', 'd'], true],
    ['two grants with a gap do not', [['a', 'c'], ['d', 'e']], ['b', 'd'], false],
    ['grants given out of order still join', [['c', 'e'], ['a', 'c']], ['a', 'e'], true],
    ['"\\0" grants everything from the key on', [['m', '\\0']], ['z', '\\0'], true],
    ['a bounded grant does not hold an open-ended range', [['a', 'z']], ['b', '\\0'], false],
    ['nothing granted holds nothing', [], ['a', ''], false],
    ['no grant holds an inverted range, as in etcd', [['a', 'zz']], ['z', 'a'], false],
  ];
  for (const [title, granted, wanted, expected] of table) {
    it(title, () => assert.equal(covers(granted.map(([k, e]) => iv(k, e)), iv(wanted[0], wanted[1])), expected));
  }
});
