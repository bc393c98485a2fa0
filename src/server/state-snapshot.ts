import { EngineOp, EngineReader } from '../storage/engine';
import { EMPTY_AUTH } from './auth-store';
import { asBuffer } from '../util/bytes';
import { decodeNumber, encodeNumber, metaKey, prefixRange, PREFIX_LEASE, PREFIX_META, PREFIX_REVISION } from '../storage/keyspace';

/** Meta records that are replicated state: a snapshot carries them with the MVCC records. */
const REPLICATED_META = [metaKey('members'), metaKey('cluster-version')];

/** A dump is handed on in pieces of about this size as it is read, so sending can start before the last record is read. */
const DUMP_PIECE_BYTES = 1 << 20;

/**
 * The application state a lagging follower receives instead of compacted log entries (and a
 * Maintenance.Snapshot carries): every lease and MVCC revision record, the membership, the alarms,
 * auth, plus the compaction mark, as length-prefixed key/value pairs, in pieces. `reader` must not
 * change while the pieces are read: an engine snapshot.
 */
export async function* dumpPieces(reader: EngineReader): AsyncIterable<Buffer> {
  const compact = await reader.get(metaKey('compact-scheduled'));
  const out = new PieceWriter(encodeNumber(decodeNumber(compact) ?? 0));
  // The mark itself too, when there is one: the header's 0 cannot tell a compaction at revision 0
  // from none, and before the first compaction a range at revision -1 is allowed (etcd's
  // compactMainRev is -1), after it refused, on every member alike.
  if (compact !== undefined) out.record(metaKey('compact-scheduled'), compact);
  // How far the physical deletion of that compaction had got: a dump taken while it ran holds
  // records it would have removed, and whoever installs the dump must go on removing them.
  out.record(metaKey('compact-finished'), (await reader.get(metaKey('compact-finished'))) ?? encodeNumber(0));
  for (const k of REPLICATED_META) {
    const v = await reader.get(k);
    if (v !== undefined) out.record(k, v);
  }
  // Alarms are replicated state; always sent, so installing the dump also clears stale ones.
  out.record(metaKey('alarms'), (await reader.get(metaKey('alarms'))) ?? Buffer.from('[]'));
  out.record(metaKey('auth'), (await reader.get(metaKey('auth'))) ?? EMPTY_AUTH);
  // Leases sort before revisions.
  for (const prefix of [PREFIX_LEASE, PREFIX_REVISION]) {
    for await (const chunk of reader.entryChunks(prefixRange(prefix))) {
      for (const [k, v] of chunk) out.record(k, v);
      yield* out.takeFull();
    }
  }
  yield out.finish();
}

/** The whole dump in one buffer. */
export async function dumpState(reader: EngineReader): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of dumpPieces(reader)) pieces.push(piece);
  return Buffer.concat(pieces);
}

/**
 * Length-prefixed pairs copied into pieces of DUMP_PIECE_BYTES (or one record, if larger): a
 * million records as three Buffers each cost a dump a third of its time in allocation and GC.
 */
class PieceWriter {
  private piece = Buffer.allocUnsafe(DUMP_PIECE_BYTES);
  private length = 0;
  private full: Buffer[] = [];

  constructor(head: Buffer) {
    this.piece.set(head, 0);
    this.length = head.length;
  }

  record(k: Buffer, v: Buffer): void {
    const size = 8 + k.length + v.length;
    if (this.length + size > this.piece.length) {
      this.full.push(this.piece.subarray(0, this.length));
      this.piece = Buffer.allocUnsafe(Math.max(size, DUMP_PIECE_BYTES));
      this.length = 0;
    }
    this.piece.writeUInt32BE(k.length, this.length);
    this.piece.writeUInt32BE(v.length, this.length + 4);
    // TypedArray set, not Buffer copy: copying two small buffers per record through Buffer#copy
    // was 40 % of a million-record dump.
    this.piece.set(k, this.length + 8);
    this.piece.set(v, this.length + 8 + k.length);
    this.length += size;
  }

  takeFull(): Buffer[] {
    const full = this.full;
    this.full = [];
    return full;
  }

  finish(): Buffer {
    return this.piece.subarray(0, this.length);
  }
}

/** Bytes before a dump's first record: its compaction mark. */
export const DUMP_HEADER_BYTES = 8;

/**
 * The records of `data` from byte `at` on, as views into it (the engine copies what it writes).
 * Returns where the first incomplete record starts: `data.length` if none is; a caller with the
 * whole dump takes anything less as the dump cut short.
 */
export function* recordsOf(data: Buffer, at: number): Generator<[Buffer, Buffer], number> {
  while (at + 8 <= data.length) {
    const kl = data.readUInt32BE(at);
    const vl = data.readUInt32BE(at + 4);
    if (at + 8 + kl + vl > data.length) break;
    yield [data.subarray(at + 8, at + 8 + kl), data.subarray(at + 8 + kl, at + 8 + kl + vl)];
    at += 8 + kl + vl;
  }
  return at;
}

/**
 * Up to `limit` whole records of `data` from byte `at` on, given to `visit` as offsets, not views:
 * a view costs an object, and a catch-up's key index walks a million records. Returns the offset
 * after the last record visited.
 */
export function visitRecords(data: Buffer, at: number, limit: number,
  visit: (keyStart: number, valueStart: number, valueEnd: number) => void): number {
  for (let n = 0; n < limit && at + 8 <= data.length; n++) {
    const valueStart = at + 8 + data.readUInt32BE(at);
    const valueEnd = valueStart + data.readUInt32BE(at + 4);
    if (valueEnd > data.length) break;
    visit(at + 8, valueStart, valueEnd);
    at = valueEnd;
  }
  return at;
}

/** A whole dump's records in order; throws on a dump cut short. Its header is read by compactionOf. */
export function* dumpRecords(data: Buffer): Generator<[Buffer, Buffer]> {
  const end = yield* recordsOf(data, DUMP_HEADER_BYTES);
  if (end < data.length) throw new Error(`state dump cut short at byte ${end}`);
}

export function compactionOf(data: Buffer): number {
  if (data.length < DUMP_HEADER_BYTES) throw new Error('state dump is shorter than its header');
  return decodeNumber(data.subarray(0, DUMP_HEADER_BYTES)) ?? 0;
}

/** What a dump says of its member's compaction. */
export interface DumpCompaction {
  /** The revision last compacted, or undefined if the member never compacted. */
  scheduled: number | undefined;
  /** How far the physical deletion of that compaction had got. */
  finished: number;
}

/**
 * A dump's compaction: its header's revision, and its `compact-scheduled` and `compact-finished`
 * records, which come among its first records (the meta ones). An older build's dump names a
 * compaction in its header alone, and one that lacks `compact-finished` counts as unfinished, so
 * the member installing it deletes what is left to be safe.
 */
export function compactionOfDump(headerRev: number, records: Iterable<[Buffer, Buffer]>): DumpCompaction {
  const scheduledName = metaKey('compact-scheduled');
  const finishedName = metaKey('compact-finished');
  const found: DumpCompaction = { scheduled: headerRev > 0 ? headerRev : undefined, finished: 0 };
  for (const [key, value] of records) {
    if (key[0] !== PREFIX_META) break;
    if (key.equals(scheduledName)) found.scheduled = decodeNumber(value);
    if (key.equals(finishedName)) found.finished = decodeNumber(value) ?? 0;
  }
  return found;
}

/** A dump's compaction mark and its records in order; throws on a dump cut short. */
export function parseDump(dump: Uint8Array): { compaction: DumpCompaction; records: Array<[Buffer, Buffer]> } {
  const data = asBuffer(dump);
  const records = [...dumpRecords(data)];
  return { compaction: compactionOfDump(compactionOf(data), records), records };
}

/** The writes that put `records` in place, with the dump's compaction marks and the applied index. */
export function stateOps(compaction: DumpCompaction, records: Array<[Buffer, Buffer]>, appliedIndex: number): EngineOp[] {
  const ops: EngineOp[] = records.map(([key, value]) => ({ type: 'put', key, value }));
  ops.push(...markOps(compaction, appliedIndex));
  return ops;
}

/**
 * The marks a dump's records go in with: none for a member that never compacted (whatever the
 * installing one had), and a `finished` below the compaction leaves it unfinished, so the store's
 * load resumes its deletion.
 */
export function markOps({ scheduled, finished }: DumpCompaction, appliedIndex: number): EngineOp[] {
  const applied: EngineOp = { type: 'put', key: metaKey('applied-index'), value: encodeNumber(appliedIndex) };
  if (scheduled === undefined) {
    return [{ type: 'del', key: metaKey('compact-scheduled') }, { type: 'del', key: metaKey('compact-finished') }, applied];
  }
  return [
    { type: 'put', key: metaKey('compact-scheduled'), value: encodeNumber(scheduled) },
    { type: 'put', key: metaKey('compact-finished'), value: encodeNumber(Math.min(finished, scheduled)) },
    applied,
  ];
}
