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

/**
 * The smallest key greater than every key with this prefix: the last byte below 0xff is incremented
 * and the rest dropped. A prefix of only 0xff bytes has no end, so the result is "\0" (from-key).
 */
export function prefixEnd(prefix: Uint8Array): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

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
