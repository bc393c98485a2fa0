import assert from 'node:assert/strict';
import type { KeyValue } from './key-value';
import { RecordCache } from './record-cache';

const record = (key: string, valueBytes: number): KeyValue => ({
  key: Buffer.from(key), value: Buffer.alloc(valueBytes), create_revision: 2, mod_revision: 2, version: 1, lease: '0',
});

describe('RecordCache', () => {
  it('keeps records within its byte budget, the least recently read going first', () => {
    const cache = new RecordCache(3 * (1000 + 1 + 200));
    cache.set('2_0', record('a', 1000));
    cache.set('3_0', record('b', 1000));
    cache.set('4_0', record('c', 1000));
    assert.equal(cache.get('2_0')?.key.toString(), 'a'); // read again: now the most recent
    cache.set('5_0', record('d', 1000));
    assert.equal(cache.get('3_0'), undefined);
    assert.deepEqual(['2_0', '4_0', '5_0'].map((id) => cache.get(id)?.key.toString()), ['a', 'c', 'd']);
    cache.clear();
    assert.equal(cache.get('2_0'), undefined);
  });
});
