import { PREFIX_REVISION } from '../storage/keyspace';
import { readUint64BE, writeUint64BE } from '../util/bytes';

/**
 * A point in the store's history. `main` is bumped once per write request (put, delete, txn);
 * `sub` numbers the changes inside that request, from 0.
 */
export interface Revision {
  readonly main: number;
  readonly sub: number;
}

export function compareRevisions(a: Revision, b: Revision): number {
  return a.main !== b.main ? a.main - b.main : a.sub - b.sub;
}

/** Bytes of a revision record key: prefix, main and sub big-endian, then a marker for tombstones. */
const REVISION_KEY_BYTES = 1 + 8 + 8;
const TOMBSTONE_MARKER = 0x74; // 't'

export function revisionKey(rev: Revision, tombstone: boolean): Buffer {
  const key = Buffer.allocUnsafe(REVISION_KEY_BYTES + (tombstone ? 1 : 0));
  key[0] = PREFIX_REVISION;
  writeUint64BE(key, 1, rev.main);
  writeUint64BE(key, 9, rev.sub);
  if (tombstone) key[REVISION_KEY_BYTES] = TOMBSTONE_MARKER;
  return key;
}

/** The first record key of a main revision: records [revisionKeyFloor(a), revisionKeyFloor(b)) hold mains a..b-1. */
export function revisionKeyFloor(main: number): Buffer {
  return revisionKey({ main, sub: 0 }, false);
}

/** The revision record key held in `key` from `start` to `end` (the whole buffer by default). */
export function parseRevisionKey(key: Buffer, start = 0, end = key.length): { rev: Revision; tombstone: boolean } {
  return {
    rev: { main: readUint64BE(key, start + 1), sub: readUint64BE(key, start + 9) },
    tombstone: end - start > REVISION_KEY_BYTES && key[start + REVISION_KEY_BYTES] === TOMBSTONE_MARKER,
  };
}

/** A compact identity for sets of revisions. */
export function revisionId(rev: Revision): string {
  return `${rev.main}_${rev.sub}`;
}
