/**
 * Byte-string helpers. Keys are raw bytes on the wire; inside the key index we hold them as
 * latin1 strings, whose code units are the bytes, so JavaScript's string order is etcd's byte order.
 */

export function toKeyString(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

export function fromKeyString(key: string): Buffer {
  return Buffer.from(key, 'latin1');
}

/** The empty byte string, shared rather than allocated wherever a value or key is absent. */
export const EMPTY_BYTES = Buffer.alloc(0);

/** Big-endian encoding of a non-negative safe integer into 8 bytes, so byte order is numeric order. */
export function writeUint64BE(target: Buffer, offset: number, value: number): void {
  target.writeBigUInt64BE(BigInt(value), offset);
}

export function readUint64BE(source: Uint8Array, offset: number): number {
  const view = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
  const value = view.readBigUInt64BE(offset);
  return Number(value);
}

/** Renders a 64-bit ID the way etcdctl does: lowercase hex without leading zeros. */
export function idToHex(id: bigint): string {
  return id.toString(16);
}
