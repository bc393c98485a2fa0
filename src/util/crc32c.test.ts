import assert from 'node:assert/strict';
import { Crc32c } from './crc32c';

describe('Crc32c', () => {
  it('gives the standard check value and is the same fed in pieces', () => {
    // The CRC-32C check value of "123456789" (RFC 3720, appendix B.4).
    assert.equal(new Crc32c().update(Buffer.from('123456789')).digest(), 0xe3069283);
    assert.equal(new Crc32c().update(Buffer.from('1234')).update(Buffer.from('56789')).digest(), 0xe3069283);
    assert.equal(new Crc32c().digest(), 0);
  });
});
