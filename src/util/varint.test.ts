import assert from 'node:assert/strict';
import { Writer } from 'protobufjs/minimal';
import { readVarint, varintLength, writeVarint } from './varint';

describe('varint', () => {
  for (const value of [0, 1, 127, 128, 300, 16_383, 16_384, 2 ** 21, 2 ** 28 - 1, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER]) {
    it(`writes ${value} as protobuf does, in the length it says, and reads it back`, () => {
      const want = Writer.create().uint64(value).finish();
      const out = new Uint8Array(varintLength(value) + 1);
      const end = writeVarint(out, 1, value);
      assert.equal(end, out.length);
      assert.deepEqual(Buffer.from(out.subarray(1)), Buffer.from(want));
      assert.deepEqual(readVarint(out, 1), [value, out.length]);
    });
  }
});
