import { Engine, EngineOp } from './engine';
import { logIndexOf, logKey, metaKey, prefixRange, PREFIX_LOG } from './keyspace';
import { readUint64BE, writeUint64BE } from '../util/bytes';

/** A log entry as stored: its position, term, kind and payload (the Raft core's Entry shape). */
export interface LogEntry {
  index: number;
  term: number;
  type: 'normal' | 'conf-change';
  data: Uint8Array;
}

/** Raft's durable vote and commit. Member IDs are 64-bit. */
export interface StoredHardState {
  term: number;
  vote: bigint;
  commit: number;
}

/** Where the log begins: the last entry folded into the state (and who the voters were then). */
export interface StoredSnapshotMeta {
  index: number;
  term: number;
  voters: bigint[];
  learners: bigint[];
}

const TYPE_CODES = { normal: 0, 'conf-change': 1 } as const;

/**
 * The durable Raft log: entries under 'l' (term 8 bytes, type 1 byte, then data), the hard state
 * and the snapshot mark under 'm'. A save is one batch, fsynced when Raft says it must be:
 * this is where a write becomes durable.
 */
export class LogStore {
  constructor(private readonly engine: Engine) {}

  /**
   * Entries and hard state of one Ready, in one batch. `previousLastIndex` is the log's last index
   * before these entries: a shorter new log deletes the old tail beyond it.
   */
  async save(entries: LogEntry[], hardState: StoredHardState | undefined, previousLastIndex: number, sync: boolean): Promise<void> {
    const ops: EngineOp[] = entries.map((e) => ({ type: 'put', key: logKey(e.index), value: encodeEntry(e) }));
    const last = entries[entries.length - 1];
    if (last !== undefined) {
      for (let i = last.index + 1; i <= previousLastIndex; i++) ops.push({ type: 'del', key: logKey(i) });
    }
    if (hardState !== undefined) ops.push(this.hardStateOp(hardState));
    await this.engine.write(ops, { sync });
  }

  /** The write of a hard state, for a batch of someone else's (a commit index that needs no fsync). */
  hardStateOp(hardState: StoredHardState): EngineOp {
    return { type: 'put', key: metaKey('hard-state'), value: encodeHardState(hardState) };
  }

  async hardState(): Promise<StoredHardState | undefined> {
    const v = await this.engine.get(metaKey('hard-state'));
    return v === undefined ? undefined : { term: readUint64BE(v, 0), vote: v.readBigUInt64BE(8), commit: readUint64BE(v, 16) };
  }

  async snapshotMeta(): Promise<StoredSnapshotMeta | undefined> {
    const v = await this.engine.get(metaKey('snapshot'));
    if (v === undefined) return undefined;
    const parsed = JSON.parse(v.toString()) as { index: number; term: number; voters: string[]; learners: string[] };
    return { index: parsed.index, term: parsed.term, voters: parsed.voters.map(BigInt), learners: parsed.learners.map(BigInt) };
  }

  /** Marks the state as a snapshot at `meta.index` and drops entries before `compactBefore`. */
  async saveSnapshotMeta(meta: StoredSnapshotMeta, compactBefore: number): Promise<void> {
    await this.engine.write([{ type: 'put', key: metaKey('snapshot'), value: encodeSnapshotMeta(meta) }], { sync: true });
    await this.engine.clear({ gte: logKey(0), lt: logKey(compactBefore) });
  }

  /**
   * The write that marks a snapshot from the leader as installed. It must go in the same batch
   * as the installed state, so a crash leaves either the old state and log or the new ones.
   */
  snapshotMetaOp(meta: StoredSnapshotMeta): EngineOp {
    return { type: 'put', key: metaKey('snapshot'), value: encodeSnapshotMeta(meta) };
  }

  /** Drops the whole log once a snapshot replaced it (entries at or below it are ignored at load anyway). */
  clearLog(): Promise<void> {
    return this.engine.clear(prefixRange(PREFIX_LOG));
  }

  /** Entries from `fromIndex` on, in order. */
  async entriesFrom(fromIndex: number): Promise<LogEntry[]> {
    const out: LogEntry[] = [];
    const { lt } = prefixRange(PREFIX_LOG);
    for await (const [key, value] of this.engine.entries({ gte: logKey(fromIndex), lt })) {
      out.push({
        index: logIndexOf(key),
        term: readUint64BE(value, 0),
        type: value[8] === TYPE_CODES['conf-change'] ? 'conf-change' : 'normal',
        data: value.subarray(9),
      });
    }
    return out;
  }
}

function encodeEntry(e: LogEntry): Buffer {
  const out = Buffer.allocUnsafe(9 + e.data.length);
  writeUint64BE(out, 0, e.term);
  out[8] = TYPE_CODES[e.type];
  out.set(e.data, 9);
  return out;
}

function encodeSnapshotMeta(meta: StoredSnapshotMeta): Buffer {
  return Buffer.from(JSON.stringify({
    index: meta.index, term: meta.term, voters: meta.voters.map(String), learners: meta.learners.map(String),
  }));
}

function encodeHardState(hs: StoredHardState): Buffer {
  const out = Buffer.allocUnsafe(24);
  writeUint64BE(out, 0, hs.term);
  out.writeBigUInt64BE(hs.vote, 8);
  writeUint64BE(out, 16, hs.commit);
  return out;
}
