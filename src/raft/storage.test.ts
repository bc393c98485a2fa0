import assert from 'node:assert/strict';
import { MemoryStorage } from './storage';
import { Entry } from './types';

const entry = (index: number, term: number, bytes: number): Entry => ({ index, term, type: 'normal', data: Buffer.alloc(bytes) });
const CONF = { voters: [1n], learners: [] };

describe('MemoryStorage', () => {
  it('counts the entry data it holds through appends, a replaced suffix, compaction and a snapshot', () => {
    const s = new MemoryStorage();
    s.append([entry(1, 1, 10), entry(2, 1, 20), entry(3, 1, 30), entry(4, 1, 40)]);
    assert.equal(s.dataBytes, 100);
    // A new leader's entries from 3 on replace the old suffix.
    s.append([entry(3, 2, 5)]);
    assert.equal(s.dataBytes, 35);
    assert.equal(s.lastIndex(), 3);
    s.compact(2);
    assert.equal(s.dataBytes, 5, 'entries 1 and 2 are gone; 2 is now the dummy');
    s.applySnapshot({ metadata: { index: 10, term: 3, confState: CONF }, data: new Uint8Array() });
    assert.equal(s.dataBytes, 0);
  });

  it('finds where to compact to keep at most so many bytes behind an index, never below the first entry', () => {
    const s = new MemoryStorage();
    s.append([entry(1, 1, 10), entry(2, 1, 10), entry(3, 1, 10), entry(4, 1, 10), entry(5, 1, 10)]);
    assert.equal(s.compactIndexKeeping(4, 25), 2, 'entries 3 and 4 (20 bytes) fit, 2 would make 30');
    assert.equal(s.compactIndexKeeping(4, 5), 4, 'not even entry 4 fits');
    assert.equal(s.compactIndexKeeping(4, 1000), 0, 'everything fits: compacting to the dummy changes nothing');
    s.compact(2);
    assert.equal(s.compactIndexKeeping(5, 1000), 2);
  });
});
