import { varintLength, writeVarint } from './varint';

/**
 * protobuf's wire format written by hand into one buffer sized beforehand, for the messages a
 * member writes per entry or event (Raft messages, stored key-values, watch responses):
 * protobufjs' Writer made an object per field and per 64-bit value. Field numbers must be below
 * 16 (one-byte tags). As proto3 writes them, a zero number and empty bytes are left out.
 */

export const VARINT = 0;
export const LENGTH_DELIMITED = 2;

export function tag(field: number, wireType: number): number {
  return (field << 3) | wireType;
}

/** Bytes of a length-delimited field holding `bodyBytes`. */
export function delimitedSize(bodyBytes: number): number {
  return 1 + varintLength(bodyBytes) + bodyBytes;
}

export function numberFieldSize(value: number): number {
  return value === 0 ? 0 : 1 + varintLength(value);
}

export function bytesFieldSize(bytes: Uint8Array): number {
  return bytes.length === 0 ? 0 : delimitedSize(bytes.length);
}

/** Bytes of a field holding a varint already encoded (see bigintVarint). */
export function varintFieldSize(varint: Uint8Array | undefined): number {
  return varint === undefined ? 0 : 1 + varint.length;
}

/**
 * A 64-bit integer's varint bytes (IDs past 2^53); a negative one as its two's complement, as
 * protobuf writes an int64.
 */
export function bigintVarint(value: bigint): Uint8Array {
  const out: number[] = [];
  let rest = BigInt.asUintN(64, value);
  for (; rest >= 0x80n; rest >>= 7n) out.push(Number(rest & 0x7fn) | 0x80);
  out.push(Number(rest));
  return Uint8Array.from(out);
}

export class ProtoWriter {
  private pos = 0;

  constructor(readonly buf: Buffer) {}

  /** Whether exactly the sized buffer was filled: a size worked out wrong is a bug. */
  get full(): boolean {
    return this.pos === this.buf.length;
  }

  tag(field: number, wireType: number): void {
    this.buf[this.pos++] = tag(field, wireType);
  }

  varint(value: number): void {
    this.pos = writeVarint(this.buf, this.pos, value);
  }

  numberField(field: number, value: number): void {
    if (value === 0) return;
    this.tag(field, VARINT);
    this.varint(value);
  }

  varintField(field: number, varint: Uint8Array | undefined): void {
    if (varint === undefined) return;
    this.tag(field, VARINT);
    this.raw(varint);
  }

  bytesField(field: number, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.tag(field, LENGTH_DELIMITED);
    this.varint(bytes.length);
    this.raw(bytes);
  }

  /** A length-delimited field's tag and length; its body is written next. */
  delimited(field: number, bodyBytes: number): void {
    this.tag(field, LENGTH_DELIMITED);
    this.varint(bodyBytes);
  }

  string(field: number, text: string): void {
    this.delimited(field, Buffer.byteLength(text));
    this.pos += this.buf.write(text, this.pos);
  }

  raw(bytes: Uint8Array): void {
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }
}
