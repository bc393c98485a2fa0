import { strict as assert } from 'node:assert';
import { readUint64BE, writeUint64BE } from './bytes';

describe('uint64 big-endian helpers', () => {
  const values = [0, 1, 0xff, 0xffff_ffff, 0x1_0000_0000, 0x1_0000_0001, 2 ** 40 + 12345, Number.MAX_SAFE_INTEGER];

  it('write the same bytes as BigInt encoding and read back every value', () => {
    for (const v of values) {
      const ours = Buffer.alloc(10);
      writeUint64BE(ours, 1, v);
      const reference = Buffer.alloc(10);
      reference.writeBigUInt64BE(BigInt(v), 1);
      assert.deepEqual(ours, reference, `bytes of ${v}`);
      assert.equal(readUint64BE(ours, 1), v);
    }
  });

  it('keep byte order the same as numeric order', () => {
    const encoded = values.map((v) => {
      const b = Buffer.alloc(8);
      writeUint64BE(b, 0, v);
      return b;
    });
    for (let i = 1; i < encoded.length; i++) assert.equal(Buffer.compare(encoded[i - 1]!, encoded[i]!), -1);
  });

  it('refuses a negative value', () => {
    assert.throws(() => writeUint64BE(Buffer.alloc(8), 0, -1), RangeError);
  });
});
