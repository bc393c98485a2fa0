import { Writer } from 'protobufjs/minimal';
import type { Entry, Message, MessageType, NodeId, SnapshotMetadata } from '../raft/types';
import { asBuffer } from '../util/bytes';
import { readVarint } from '../util/varint';

/**
 * Raft messages on the peer port, encoded and decoded by hand as proto/keelpb/raft.proto defines
 * them (the bytes are the same as protobuf's). The generic path went through proto-loader's
 * objects with every uint64 as a decimal string: Long.fromString on the way out and Long.toString
 * on the way in, for every field of every message, 3–5 % of each member's CPU under load.
 * Terms and indexes stay numbers (exact below 2^53); member IDs are full 64-bit bigints.
 */

// proto/keelpb/raft.proto field numbers.
const BATCH_MESSAGES = 1;
const M_TYPE = 1;
const M_TO = 2;
const M_FROM = 3;
const M_TERM = 4;
const M_LOG_TERM = 5;
const M_INDEX = 6;
const M_ENTRIES = 7;
const M_COMMIT = 8;
const M_REJECT = 9;
const M_REJECT_HINT = 10;
const M_SNAPSHOT = 11;
const M_CONTEXT = 12;
const M_HAS_CONTEXT = 13;
const E_TERM = 1;
const E_INDEX = 2;
const E_TYPE = 3;
const E_DATA = 4;
const S_CONF_STATE = 1;
const S_INDEX = 2;
const S_TERM = 3;
const C_VOTERS = 1;
const C_LEARNERS = 2;
/** EntryType CONF_CHANGE; NORMAL is 0. */
const CONF_CHANGE = 1;

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

export function encodeMessageBatch(messages: Message[]): Buffer {
  const w = Writer.create();
  for (const m of messages) writeMessage(w.uint32(tag(BATCH_MESSAGES, LENGTH_DELIMITED)).fork(), m).ldelim();
  return Buffer.from(w.finish());
}

export function decodeMessageBatch(bytes: Uint8Array): Message[] {
  const messages: Message[] = [];
  readFields(new Cursor(bytes), (field, c) => {
    if (field === BATCH_MESSAGES) messages.push(readMessage(c.sub()));
    else return false;
    return true;
  });
  return messages;
}

function tag(field: number, wireType: number): number {
  return (field << 3) | wireType;
}

/** A uint64 member ID as protobufjs takes it without parsing a string: its two 32-bit halves. */
function idBits(id: NodeId): { low: number; high: number } {
  return { low: Number(id & 0xffff_ffffn), high: Number(id >> 32n) };
}

function writeMessage(w: Writer, m: Message): Writer {
  w.uint32(tag(M_TYPE, LENGTH_DELIMITED)).string(m.type);
  if (m.to !== 0n) w.uint32(tag(M_TO, VARINT)).uint64(idBits(m.to) as never);
  if (m.from !== 0n) w.uint32(tag(M_FROM, VARINT)).uint64(idBits(m.from) as never);
  if (m.term !== 0) w.uint32(tag(M_TERM, VARINT)).uint64(m.term);
  if (m.logTerm !== 0) w.uint32(tag(M_LOG_TERM, VARINT)).uint64(m.logTerm);
  if (m.index !== 0) w.uint32(tag(M_INDEX, VARINT)).uint64(m.index);
  for (const e of m.entries) {
    w.uint32(tag(M_ENTRIES, LENGTH_DELIMITED)).fork();
    if (e.term !== 0) w.uint32(tag(E_TERM, VARINT)).uint64(e.term);
    if (e.index !== 0) w.uint32(tag(E_INDEX, VARINT)).uint64(e.index);
    if (e.type === 'conf-change') w.uint32(tag(E_TYPE, VARINT)).uint32(CONF_CHANGE);
    if (e.data.length > 0) w.uint32(tag(E_DATA, LENGTH_DELIMITED)).bytes(e.data);
    w.ldelim();
  }
  if (m.commit !== 0) w.uint32(tag(M_COMMIT, VARINT)).uint64(m.commit);
  if (m.reject) w.uint32(tag(M_REJECT, VARINT)).bool(true);
  if (m.rejectHint !== 0) w.uint32(tag(M_REJECT_HINT, VARINT)).uint64(m.rejectHint);
  if (m.snapshot) writeSnapshotMetadata(w.uint32(tag(M_SNAPSHOT, LENGTH_DELIMITED)).fork(), m.snapshot.metadata).ldelim();
  if (m.context !== undefined) {
    if (m.context.length > 0) w.uint32(tag(M_CONTEXT, LENGTH_DELIMITED)).bytes(m.context);
    w.uint32(tag(M_HAS_CONTEXT, VARINT)).bool(true);
  }
  return w;
}

function writeSnapshotMetadata(w: Writer, meta: SnapshotMetadata): Writer {
  w.uint32(tag(S_CONF_STATE, LENGTH_DELIMITED)).fork();
  for (const [field, ids] of [[C_VOTERS, meta.confState.voters], [C_LEARNERS, meta.confState.learners]] as const) {
    if (ids.length === 0) continue;
    w.uint32(tag(field, LENGTH_DELIMITED)).fork(); // packed, as proto3 writes repeated scalars
    for (const id of ids) w.uint64(idBits(id) as never);
    w.ldelim();
  }
  w.ldelim();
  if (meta.index !== 0) w.uint32(tag(S_INDEX, VARINT)).uint64(meta.index);
  if (meta.term !== 0) w.uint32(tag(S_TERM, VARINT)).uint64(meta.term);
  return w;
}

function readMessage(c: Cursor): Message {
  const m: Message = { type: '' as MessageType, to: 0n, from: 0n, term: 0, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 };
  let context: Uint8Array | undefined;
  let hasContext = false;
  let snapshot: SnapshotMetadata | undefined;
  readFields(c, (field, f) => {
    switch (field) {
      case M_TYPE: m.type = f.string() as MessageType; break;
      case M_TO: m.to = f.bigint(); break;
      case M_FROM: m.from = f.bigint(); break;
      case M_TERM: m.term = f.number(); break;
      case M_LOG_TERM: m.logTerm = f.number(); break;
      case M_INDEX: m.index = f.number(); break;
      case M_ENTRIES: m.entries.push(readEntry(f.sub())); break;
      case M_COMMIT: m.commit = f.number(); break;
      case M_REJECT: m.reject = f.number() !== 0; break;
      case M_REJECT_HINT: m.rejectHint = f.number(); break;
      case M_SNAPSHOT: snapshot = readSnapshotMetadata(f.sub()); break;
      case M_CONTEXT: context = f.bytes(); break;
      case M_HAS_CONTEXT: hasContext = f.number() !== 0; break;
      default: return false;
    }
    return true;
  });
  if (hasContext) m.context = context ?? new Uint8Array();
  // The state itself follows a MsgSnap in chunks; the receiver puts it in.
  if (snapshot) m.snapshot = { metadata: snapshot, data: new Uint8Array() };
  return m;
}

function readEntry(c: Cursor): Entry {
  const e: Entry = { term: 0, index: 0, type: 'normal', data: new Uint8Array() };
  readFields(c, (field, f) => {
    switch (field) {
      case E_TERM: e.term = f.number(); break;
      case E_INDEX: e.index = f.number(); break;
      case E_TYPE: e.type = f.number() === CONF_CHANGE ? 'conf-change' : 'normal'; break;
      case E_DATA: e.data = f.bytes(); break;
      default: return false;
    }
    return true;
  });
  return e;
}

function readSnapshotMetadata(c: Cursor): SnapshotMetadata {
  const meta: SnapshotMetadata = { index: 0, term: 0, confState: { voters: [], learners: [] } };
  readFields(c, (field, f) => {
    if (field === S_CONF_STATE) {
      readFields(f.sub(), (csField, g, wireType) => {
        const ids = csField === C_VOTERS ? meta.confState.voters : csField === C_LEARNERS ? meta.confState.learners : undefined;
        if (ids === undefined) return false;
        if (wireType === LENGTH_DELIMITED) {
          const packed = g.sub();
          while (!packed.done()) ids.push(packed.bigint());
        } else {
          ids.push(g.bigint());
        }
        return true;
      });
    } else if (field === S_INDEX) meta.index = f.number();
    else if (field === S_TERM) meta.term = f.number();
    else return false;
    return true;
  });
  return meta;
}

/**
 * Calls `onField` for each field in turn, with the cursor at its value; a field it does not take
 * (returns false) is skipped, as protobuf skips unknown fields.
 */
function readFields(c: Cursor, onField: (field: number, c: Cursor, wireType: number) => boolean): void {
  while (!c.done()) {
    const key = c.number();
    const field = Math.floor(key / 8);
    const wireType = key & 7;
    if (!onField(field, c, wireType)) c.skip(wireType);
  }
}

/** Reads protobuf's wire format from bytes, refusing to read past their end. */
class Cursor {
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

  /** A varint as a full 64-bit unsigned bigint (member IDs). */
  bigint(): bigint {
    let value = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = this.byte();
      value |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, value);
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
  sub(): Cursor {
    const [start, end] = this.span();
    return new Cursor(this.buf, start, end);
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
