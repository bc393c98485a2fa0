/**
 * A protobuf base-128 varint at `pos` as a number, exact below 2^53 (every revision, version,
 * term, index and length Keel stores), and the position after it. Throws when the bytes end
 * before the varint does, rather than reading past `end`.
 */
export function readVarint(bytes: Uint8Array, pos: number, end = bytes.length): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new Error('message cut short');
    const b = bytes[pos++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return [value, pos];
    scale *= 128;
  }
  throw new Error('malformed varint');
}
