/**
 * Byte-string helpers. Keys are raw bytes on the wire; inside the key index we hold them as
 * latin1 strings, whose code units are the bytes, so JavaScript's string order is etcd's byte order.
 */

/** The same bytes as a Buffer, without a copy (a view of the same memory). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function toKeyString(bytes: Uint8Array): string {
  return asBuffer(bytes).toString('latin1');
}

export function fromKeyString(key: string): Buffer {
  return Buffer.from(key, 'latin1');
}

/** The empty byte string, shared rather than allocated wherever a value or key is absent. */
export const EMPTY_BYTES = Buffer.alloc(0);

/** 2^32: splits a safe integer into the two 32-bit halves of its 64-bit encoding. */
const TWO_POW_32 = 0x1_0000_0000;

/**
 * Big-endian encoding of a non-negative safe integer into 8 bytes, so byte order is numeric order.
 * Two 32-bit writes rather than a BigInt: this runs for every record written and read back.
 */
export function writeUint64BE(target: Buffer, offset: number, value: number): void {
  target.writeUInt32BE(Math.floor(value / TWO_POW_32), offset);
  target.writeUInt32BE(value >>> 0, offset + 4);
}

export function readUint64BE(source: Buffer, offset: number): number {
  return source.readUInt32BE(offset) * TWO_POW_32 + source.readUInt32BE(offset + 4);
}

/** Renders a 64-bit ID the way etcdctl does: lowercase hex without leading zeros. */
export function idToHex(id: bigint): string {
  return id.toString(16);
}
