import { Long, Reader, util } from 'protobufjs/minimal';
import { asBuffer, EMPTY_BYTES } from '../util/bytes';
import { invariant } from '../util/invariant';
import { bigintVarint, bytesFieldSize, LENGTH_DELIMITED, numberFieldSize, ProtoWriter, varintFieldSize } from '../util/proto-writer';
import { readVarint } from '../util/varint';

/**
 * A key's value at one revision, shaped as the wire's mvccpb.KeyValue so a range answer needs no
 * per-key conversion. Revisions are safe integers; the lease ID is a decimal int64 string ('0' = none).
 */
export interface KeyValue {
  key: Buffer;
  create_revision: number;
  mod_revision: number;
  version: number;
  value: Buffer;
  lease: string;
}

// Field numbers of mvccpb.KeyValue; the record on disk is that message's protobuf encoding.
const F_KEY = 1;
const F_CREATE = 2;
const F_MOD = 3;
const F_VERSION = 4;
const F_VALUE = 5;
const F_LEASE = 6;

/**
 * Written into one buffer sized first (util/proto-writer.ts); a decoded record's key and value are
 * views of it: no copies (copying them cost a member replaying the log 2.5 % of its time).
 */
export function encodeKeyValue(kv: KeyValue): Buffer {
  const lease = kv.lease === '0' ? undefined : bigintVarint(BigInt(kv.lease));
  const size = bytesFieldSize(kv.key) + numberFieldSize(kv.create_revision) + numberFieldSize(kv.mod_revision)
    + numberFieldSize(kv.version) + bytesFieldSize(kv.value) + varintFieldSize(lease);
  const out = new ProtoWriter(Buffer.allocUnsafe(size));
  out.bytesField(F_KEY, kv.key);
  out.numberField(F_CREATE, kv.create_revision);
  out.numberField(F_MOD, kv.mod_revision);
  out.numberField(F_VERSION, kv.version);
  out.bytesField(F_VALUE, kv.value);
  out.varintField(F_LEASE, lease);
  invariant(out.full, 'key-value record sized wrong');
  return out.buf;
}

export function decodeKeyValue(bytes: Uint8Array): KeyValue {
  const r = Reader.create(bytes);
  const kv: KeyValue = { key: EMPTY_BYTES, create_revision: 0, mod_revision: 0, version: 0, value: EMPTY_BYTES, lease: '0' };
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case F_KEY: kv.key = asBuffer(r.bytes()); break;
      case F_CREATE: kv.create_revision = toNumber(r.int64()); break;
      case F_MOD: kv.mod_revision = toNumber(r.int64()); break;
      case F_VERSION: kv.version = toNumber(r.int64()); break;
      case F_VALUE: kv.value = asBuffer(r.bytes()); break;
      case F_LEASE: kv.lease = r.int64().toString(); break;
      default: r.skipType(tag & 7);
    }
  }
  return kv;
}

/** What the key index needs of a stored record: everything but the value. */
export interface IndexFields {
  /** The key as a latin1 string, as the index holds it. */
  key: string;
  create_revision: number;
  version: number;
  lease: string;
}

/**
 * Reads the index fields of the record held in `bytes` from `start` to `end` (the whole buffer by
 * default) straight from its bytes, skipping the value without copying it: the start of a member
 * holding a million keys runs this a million times.
 */
export function decodeIndexFields(bytes: Buffer, start = 0, end = bytes.length): IndexFields {
  const fields: IndexFields = { key: '', create_revision: 0, version: 0, lease: '0' };
  let pos = start;
  while (pos < end) {
    const tag = bytes[pos++]!; // every field number here is below 16: the tag is one byte
    if ((tag & 7) === LENGTH_DELIMITED) {
      const [length, from] = readVarint(bytes, pos, end);
      if (from + length > end) throw new Error('record cut short');
      if ((tag >>> 3) === F_KEY) fields.key = bytes.toString('latin1', from, from + length);
      pos = from + length;
    } else {
      const [value, next] = readVarint(bytes, pos, end);
      if ((tag >>> 3) === F_CREATE) fields.create_revision = value;
      else if ((tag >>> 3) === F_VERSION) fields.version = value;
      // A lease ID can exceed 2^53: take its exact digits from the full decoder.
      else if ((tag >>> 3) === F_LEASE) fields.lease = decodeKeyValue(bytes.subarray(start, end)).lease;
      pos = next;
    }
  }
  return fields;
}

function toNumber(v: number | Long): number {
  return typeof v === 'number' ? v : util.LongBits.from(v).toNumber();
}
