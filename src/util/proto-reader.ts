import { asBuffer } from './bytes';
import { LENGTH_DELIMITED, VARINT } from './proto-writer';
import { readVarint } from './varint';

/**
 * protobuf's wire format read by hand, for the messages a member reads per entry (Raft messages,
 * log entries' client writes): fields as they come, values as views, nothing read past the end.
 */

const FIXED64 = 1;
const FIXED32 = 5;

/**
 * Calls `onField` for each field in turn, with the cursor at its value; a field it does not take
 * (returns false) is skipped, as protobuf skips unknown fields.
 */
export function readFields(c: ProtoReader, onField: (field: number, c: ProtoReader, wireType: number) => boolean): void {
  while (!c.done()) {
    const key = c.number();
    const wireType = key & 7;
    if (!onField(Math.floor(key / 8), c, wireType)) c.skip(wireType);
  }
}

/** Reads protobuf's wire format from bytes, refusing to read past their end. */
export class ProtoReader {
  private pos: number;

  constructor(private readonly buf: Uint8Array, start = 0, private readonly end = buf.length) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as a number: exact below 2^53, which every term, index and length here is. */
  number(): number {
    const [value, next] = readVarint(this.buf, this.pos, this.end);
    this.pos = next;
    return value;
  }

  /**
   * A varint as a full 64-bit unsigned bigint (member IDs), gathered as two 32-bit halves in
   * numbers: a BigInt operation per 7 bits allocated a BigInt each, on every message received.
   */
  bigint(): bigint {
    let low = 0;
    let high = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      const bits = this.byte();
      const value = bits & 0x7f;
      if (shift < 28) low += value * 2 ** shift;
      else if (shift === 28) {
        low += (value & 0x0f) * 2 ** 28;
        high += value >>> 4;
      } else high += value * 2 ** (shift - 32);
      if (bits < 0x80) return BigInt.asUintN(64, (BigInt(high) << 32n) | BigInt(low));
    }
    throw new Error('malformed varint');
  }

  /** The bytes of a length-delimited field, as a view (no copy). */
  bytes(): Uint8Array {
    const [start, end] = this.span();
    return this.buf.subarray(start, end);
  }

  string(): string {
    const [start, end] = this.span();
    return asBuffer(this.buf).toString('utf8', start, end);
  }

  /** A cursor over an embedded message or packed field, this one moved past it. */
  sub(): ProtoReader {
    const [start, end] = this.span();
    return new ProtoReader(this.buf, start, end);
  }

  skip(wireType: number): void {
    switch (wireType) {
      case VARINT: this.number(); break;
      case FIXED64: this.advance(8); break;
      case LENGTH_DELIMITED: this.span(); break;
      case FIXED32: this.advance(4); break;
      default: throw new Error(`unsupported wire type ${wireType}`);
    }
  }

  private span(): [number, number] {
    const length = this.number();
    const start = this.pos;
    this.advance(length);
    return [start, this.pos];
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw new Error('message cut short');
    this.pos += n;
  }

  private byte(): number {
    if (this.pos >= this.end) throw new Error('message cut short');
    return this.buf[this.pos++]!;
  }
}
