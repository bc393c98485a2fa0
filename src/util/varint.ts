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

/**
 * Bytes a protobuf varint of `value` takes: an integer from 0 to 2^53 (a length, a term, an index).
 * Division rather than shifts, which would cut values above 2^32.
 */
export function varintLength(value: number): number {
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    n++;
  }
  return n;
}

/** Writes `value` (an integer from 0 to 2^53) as a varint at `pos`; returns the position after it. */
export function writeVarint(out: Uint8Array, pos: number, value: number): number {
  while (value >= 0x80) {
    out[pos++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out[pos++] = value;
  return pos;
}
