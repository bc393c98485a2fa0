import type { Entry, Message, MessageType, NodeId, SnapshotMetadata } from '../raft/types';
import { invariant } from '../util/invariant';
import { bigintVarint, bytesFieldSize, delimitedSize, LENGTH_DELIMITED, numberFieldSize, ProtoWriter, varintFieldSize } from '../util/proto-writer';
import { ProtoReader, readFields } from '../util/proto-reader';

/**
 * Raft messages on the peer port, encoded and decoded by hand as proto/keelpb/raft.proto defines
 * them (the bytes are the same as protobuf's). The generic path went through proto-loader's
 * objects with every uint64 as a decimal string: Long.fromString on the way out and Long.toString
 * on the way in, for every field of every message, 3–5 % of each member's CPU under load.
 * Terms and indexes stay numbers (exact below 2^53); member IDs are full 64-bit bigints.
 */

// proto/keelpb/raft.proto field numbers.
const BATCH_MESSAGES = 1;
const BATCH_SENDER_PEER_URL = 2;
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

/** One buffer, sized first and then filled (util/proto-writer.ts). */
export function encodeMessageBatch(messages: Message[]): Buffer {
  const sizes = messages.map(messageSize);
  let size = 0;
  for (const s of sizes) size += delimitedSize(s);
  const out = new ProtoWriter(Buffer.allocUnsafe(size));
  messages.forEach((m, i) => {
    out.delimited(BATCH_MESSAGES, sizes[i]!);
    writeMessage(out, m);
  });
  invariant(out.full, 'raft message batch sized wrong');
  return out.buf;
}

export function decodeMessageBatch(bytes: Uint8Array): Message[] {
  const messages: Message[] = [];
  readFields(new ProtoReader(bytes), (field, c) => {
    if (field === BATCH_MESSAGES) messages.push(readMessage(c.sub()));
    else return false;
    return true;
  });
  return messages;
}

/** A batch of no messages that says where its sender is reached: the first a Raft stream carries. */
export function encodeSenderPeerURL(url: string): Buffer {
  const text = Buffer.from(url);
  const out = new ProtoWriter(Buffer.allocUnsafe(bytesFieldSize(text)));
  out.bytesField(BATCH_SENDER_PEER_URL, text);
  return out.buf;
}

/** The sender's peer URL a batch carries, if it carries one. */
export function senderPeerURLOf(bytes: Uint8Array): string | undefined {
  let url: string | undefined;
  readFields(new ProtoReader(bytes), (field, c) => {
    if (field !== BATCH_SENDER_PEER_URL) return false;
    url = c.string();
    return true;
  });
  return url;
}

// Sizes of what writeMessage writes; false is left out, as proto3 leaves it.

function idFieldSize(id: NodeId): number {
  return id === 0n ? 0 : varintFieldSize(idVarint(id));
}

function messageSize(m: Message): number {
  let size = delimitedSize(Buffer.byteLength(m.type)) + idFieldSize(m.to) + idFieldSize(m.from)
    + numberFieldSize(m.term) + numberFieldSize(m.logTerm) + numberFieldSize(m.index);
  for (const e of m.entries) size += delimitedSize(entrySize(e));
  size += numberFieldSize(m.commit) + numberFieldSize(m.reject ? 1 : 0) + numberFieldSize(m.rejectHint);
  if (m.snapshot) size += delimitedSize(snapshotMetadataSize(m.snapshot.metadata));
  if (m.context !== undefined) size += bytesFieldSize(m.context) + numberFieldSize(1);
  return size;
}

function entrySize(e: Entry): number {
  return numberFieldSize(e.term) + numberFieldSize(e.index) + numberFieldSize(e.type === 'conf-change' ? CONF_CHANGE : 0) + bytesFieldSize(e.data);
}

function confStateSize(confState: SnapshotMetadata['confState']): number {
  let size = 0;
  for (const ids of [confState.voters, confState.learners]) if (ids.length > 0) size += delimitedSize(packedIdsSize(ids));
  return size;
}

function packedIdsSize(ids: NodeId[]): number {
  let size = 0;
  for (const id of ids) size += idVarint(id).length;
  return size;
}

function snapshotMetadataSize(meta: SnapshotMetadata): number {
  return delimitedSize(confStateSize(meta.confState)) + numberFieldSize(meta.index) + numberFieldSize(meta.term);
}

function writeMessage(out: ProtoWriter, m: Message): void {
  out.string(M_TYPE, m.type);
  if (m.to !== 0n) out.varintField(M_TO, idVarint(m.to));
  if (m.from !== 0n) out.varintField(M_FROM, idVarint(m.from));
  out.numberField(M_TERM, m.term);
  out.numberField(M_LOG_TERM, m.logTerm);
  out.numberField(M_INDEX, m.index);
  for (const e of m.entries) {
    out.delimited(M_ENTRIES, entrySize(e));
    out.numberField(E_TERM, e.term);
    out.numberField(E_INDEX, e.index);
    out.numberField(E_TYPE, e.type === 'conf-change' ? CONF_CHANGE : 0);
    out.bytesField(E_DATA, e.data);
  }
  out.numberField(M_COMMIT, m.commit);
  out.numberField(M_REJECT, m.reject ? 1 : 0);
  out.numberField(M_REJECT_HINT, m.rejectHint);
  if (m.snapshot) writeSnapshotMetadata(out, m.snapshot.metadata);
  if (m.context !== undefined) {
    out.bytesField(M_CONTEXT, m.context);
    out.numberField(M_HAS_CONTEXT, 1);
  }
}

function writeSnapshotMetadata(out: ProtoWriter, meta: SnapshotMetadata): void {
  out.delimited(M_SNAPSHOT, snapshotMetadataSize(meta));
  out.delimited(S_CONF_STATE, confStateSize(meta.confState));
  for (const [field, ids] of [[C_VOTERS, meta.confState.voters], [C_LEARNERS, meta.confState.learners]] as const) {
    if (ids.length === 0) continue;
    out.delimited(field, packedIdsSize(ids)); // packed, as proto3 writes repeated scalars
    for (const id of ids) out.raw(idVarint(id));
  }
  out.numberField(S_INDEX, meta.index);
  out.numberField(S_TERM, meta.term);
}

/** Member IDs at most this many are remembered as varints; past it the memory starts over. */
const MAX_REMEMBERED_IDS = 64;
const idVarints = new Map<NodeId, Uint8Array>();

/** A member ID's varint bytes, worked out once: the same few IDs are in every message. */
function idVarint(id: NodeId): Uint8Array {
  let bytes = idVarints.get(id);
  if (bytes === undefined) {
    if (idVarints.size >= MAX_REMEMBERED_IDS) idVarints.clear();
    bytes = bigintVarint(id);
    idVarints.set(id, bytes);
  }
  return bytes;
}

function readMessage(c: ProtoReader): Message {
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

function readEntry(c: ProtoReader): Entry {
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

function readSnapshotMetadata(c: ProtoReader): SnapshotMetadata {
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
