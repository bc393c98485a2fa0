import { readUint64BE, writeUint64BE } from '../util/bytes';

/**
 * One LevelDB per member holds everything, separated by a one-byte prefix so each kind of record
 * is a contiguous key range:
 *   'm' + name                   meta: applied index, compaction marks, IDs, the raft snapshot mark
 *   'r' + revision               MVCC: one record per (main, sub) revision, see mvcc/revision.ts
 *   'e' + lease ID (8)           a lease and its granted TTL (8 bytes)
 */
export const PREFIX_LEASE = 0x65; // 'e'
export const PREFIX_META = 0x6d; // 'm'
export const PREFIX_REVISION = 0x72; // 'r'

/** The whole key range of one prefix. */
export function prefixRange(prefix: number): { gte: Buffer; lt: Buffer } {
  return { gte: Buffer.from([prefix]), lt: Buffer.from([prefix + 1]) };
}

export function leaseKey(id: bigint): Buffer {
  const key = Buffer.allocUnsafe(9);
  key[0] = PREFIX_LEASE;
  key.writeBigUInt64BE(id, 1);
  return key;
}

export function metaKey(name: MetaName): Buffer {
  return Buffer.concat([Buffer.from([PREFIX_META]), Buffer.from(name, 'ascii')]);
}

/** Meta records, each an 8-byte big-endian number unless said otherwise. */
export type MetaName =
  | 'applied-index' // last log index whose effects are in the MVCC records; written in the same batch
  | 'compact-scheduled' // revision of the last compaction accepted by apply
  | 'compact-finished' // revision up to which physical deletion has completed
  | 'alarms' // JSON: the active alarms, replicated state changed only by apply
  | 'auth' // JSON: whether auth is on, its revision, users (password hashes only) and roles
  | 'cluster-id'
  | 'member-id'
  | 'members' // JSON: the cluster's members and removed member IDs (membership is rare; readability wins)
  | 'join-peers' // JSON: peer URLs of the cluster a joining member was told about, until it learns its own
  | 'snapshot' // JSON: index, term and voters of the last raft snapshot
  | 'cluster-version' // the version string the leader recorded
  | 'index-checkpoint'; // JSON: the key index saved at a clean stop, in chunks keyed after it (mvcc/index-checkpoint.ts)

export function encodeNumber(value: number): Buffer {
  const out = Buffer.allocUnsafe(8);
  writeUint64BE(out, 0, value);
  return out;
}

export function decodeNumber(value: Buffer | undefined): number | undefined {
  return value === undefined ? undefined : readUint64BE(value, 0);
}
