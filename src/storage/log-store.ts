import { Engine, EngineOp } from './engine';
import { metaKey } from './keyspace';
import { Wal, WalWrite } from './wal';
import { readUint64BE, writeUint64BE } from '../util/bytes';
import { invariant } from '../util/invariant';
import { Logger } from '../util/logger';

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

/** The log as read back at start, from the snapshot mark on. */
export interface LoadedLog {
  snapshot: StoredSnapshotMeta | undefined;
  /** The entries after the snapshot, in order, without gaps. */
  entries: LogEntry[];
  hardState: StoredHardState | undefined;
}

const ENTRY_TYPES = { normal: 0, 'conf-change': 1 } as const;
/** What a WAL record holds, its first byte. */
const RECORD = { entry: 1, hardState: 2, reset: 3 } as const;

/**
 * The durable Raft log. Entries and hard states go to the write-ahead log (wal.ts), one write per
 * Ready, fsynced when Raft says so: this is where a write becomes durable. The snapshot mark,
 * where the log begins, is in the engine with the state it describes (the state and the mark
 * land in one batch when a snapshot from the leader is installed).
 *
 * A record that rewrites an index replaces it and everything after it, as Raft replaced them; a
 * reset record (a snapshot from the leader was installed) replaces the whole log before it.
 */
export class LogStore {
  private hardStateNow: StoredHardState | undefined;
  /** The hard state the WAL holds last (the same object as hardStateNow when it is up to date). */
  private hardStateWritten: StoredHardState | undefined;
  private lastIndex = 0;

  private constructor(
    private readonly engine: Engine,
    private readonly wal: Wal,
    private readonly replayed: Buffer[],
    private readonly snapshotAtOpen: StoredSnapshotMeta | undefined,
  ) {}

  /**
   * Opens the log kept in `walDir`, its snapshot mark in `engine`. The WAL's segments before the
   * one holding the mark's entry are not read (nor kept): a start needs the log from there on.
   * `segmentBytes` is the WAL's (tests make it small, so that a few entries cut a segment).
   */
  static async open(engine: Engine, walDir: string, log: Logger, segmentBytes?: number): Promise<LogStore> {
    const snapshot = await readSnapshotMeta(engine);
    let store: LogStore | undefined;
    // A new segment starts with the hard state, so that the oldest segment kept holds one: the
    // one already written, not one the append that cuts the segment brings, whose commit may
    // cover entries a crash keeps from following it.
    const head = () => (store?.hardStateWritten ? [hardStateFrame(store.hardStateWritten)] : []);
    const { wal, frames } = Wal.open(walDir, head, log, { neededFrom: snapshot?.index ?? 0, segmentBytes });
    store = new LogStore(engine, wal, frames, snapshot);
    return store;
  }

  /**
   * The log as it was left, for the start: the snapshot mark from the engine, the entries after it
   * and the newest hard state from the WAL. Once only; it lets go of what was read.
   */
  load(): LoadedLog {
    const snapshot = this.snapshotAtOpen;
    const start = snapshot?.index ?? 0;
    let entries: LogEntry[] = [];
    for (const record of this.replayed.splice(0)) {
      switch (record[0]) {
        case RECORD.entry: {
          const e = decodeEntry(record);
          const first = entries[0]?.index ?? e.index;
          invariant(e.index <= first + entries.length, () => `wal: entry ${e.index} does not follow entries ${first}..${first + entries.length - 1}`);
          // A rewrite may start below the entries read so far: from a segment cut while this
          // member held entries a new leader then replaced, once the segment before it was deleted.
          if (e.index < first) entries = [];
          else entries.length = e.index - first;
          entries.push(e);
          break;
        }
        case RECORD.hardState: this.hardStateNow = this.hardStateWritten = decodeHardState(record); break;
        case RECORD.reset: entries = []; break;
        default: throw new Error(`wal: unknown record type ${record[0]}`);
      }
    }
    // A snapshot from the leader was installed, and the WAL never got the reset that followed (a
    // crash in between): what the WAL holds after the mark is of a log the snapshot replaced.
    const atMark = entries.find((e) => e.index === start);
    if (snapshot !== undefined && atMark !== undefined && atMark.term !== snapshot.term) entries = [];
    entries = entries.filter((e) => e.index > start);
    invariant(entries.length === 0 || entries[0]!.index === start + 1, () => `wal: the log resumes at ${entries[0]!.index}, after a snapshot at ${start}`);
    this.lastIndex = entries.length === 0 ? start : entries[entries.length - 1]!.index;
    return { snapshot, entries, hardState: this.hardStateNow };
  }

  /**
   * Entries and hard state of one Ready in one write, durable once this resolves. With 'none'
   * (Raft asks no sync: only the commit index moved) the hard state waits in memory for the next
   * write or close(): a commit lost in a crash is raised to the applied index at the next start.
   * Entries at indexes the log already holds replace those and all after them.
   */
  async save(entries: LogEntry[], hardState: StoredHardState | undefined, where: WalWrite | 'none'): Promise<void> {
    if (hardState !== undefined) this.hardStateNow = hardState;
    if (where === 'none') {
      invariant(entries.length === 0, 'raft: entries to save without a sync');
      return;
    }
    const frames = entries.map(entryFrame);
    const first = entries[0]?.index ?? this.lastIndex + 1;
    const written = this.appendWithHardState(frames, first, where);
    if (entries.length > 0) this.lastIndex = entries[entries.length - 1]!.index;
    await written;
  }

  /**
   * Appends `frames` and, after them, the hard state if the WAL does not hold the newest one yet.
   * It counts as written only after the append is under way, so a segment the append cuts begins
   * with the one written before.
   */
  private appendWithHardState(frames: Buffer[], firstIndex: number, where: WalWrite): Promise<void> | undefined {
    const hardState = this.hardStateNow === this.hardStateWritten ? undefined : this.hardStateNow;
    if (hardState !== undefined) frames.push(hardStateFrame(hardState));
    if (frames.length === 0) return undefined;
    const written = this.wal.append(frames, firstIndex, where);
    this.hardStateWritten = this.hardStateNow;
    return written;
  }

  /**
   * Marks the state as a snapshot at `meta.index`, durably (the state's earlier batches were not
   * synced), and then drops the WAL's segments that hold only entries before `compactBefore`.
   */
  async saveSnapshotMeta(meta: StoredSnapshotMeta, compactBefore: number): Promise<void> {
    await this.engine.write([this.snapshotMetaOp(meta)], { sync: true });
    await this.wal.release(compactBefore - 1);
  }

  /**
   * The write that marks a snapshot from the leader as installed. It must go in the same batch
   * as the installed state, so a crash leaves either the old state or the new one.
   */
  snapshotMetaOp(meta: StoredSnapshotMeta): EngineOp {
    return { type: 'put', key: metaKey('snapshot'), value: encodeSnapshotMeta(meta) };
  }

  /** After a snapshot from the leader was installed: the log before it is gone, the next entry follows it. */
  reset(meta: StoredSnapshotMeta): void {
    const frame = Wal.frame(17, (record) => {
      record[0] = RECORD.reset;
      writeUint64BE(record, 1, meta.index);
      writeUint64BE(record, 9, meta.term);
    });
    this.wal.append([frame], meta.index + 1, 'here');
    this.lastIndex = meta.index;
  }

  /** Writes a hard state still in memory, so a clean stop keeps its commit index. */
  async close(): Promise<void> {
    await this.wal.idle();
    this.appendWithHardState([], this.lastIndex + 1, 'here');
    await this.wal.close();
  }
}

function entryFrame(e: LogEntry): Buffer {
  return Wal.frame(18 + e.data.length, (out) => {
    out[0] = RECORD.entry;
    writeUint64BE(out, 1, e.index);
    writeUint64BE(out, 9, e.term);
    out[17] = ENTRY_TYPES[e.type];
    out.set(e.data, 18);
  });
}

function decodeEntry(record: Buffer): LogEntry {
  return {
    index: readUint64BE(record, 1),
    term: readUint64BE(record, 9),
    type: record[17] === ENTRY_TYPES['conf-change'] ? 'conf-change' : 'normal',
    data: record.subarray(18),
  };
}

function hardStateFrame(hs: StoredHardState): Buffer {
  return Wal.frame(25, (out) => {
    out[0] = RECORD.hardState;
    writeUint64BE(out, 1, hs.term);
    out.writeBigUInt64BE(hs.vote, 9);
    writeUint64BE(out, 17, hs.commit);
  });
}

function decodeHardState(record: Buffer): StoredHardState {
  return { term: readUint64BE(record, 1), vote: record.readBigUInt64BE(9), commit: readUint64BE(record, 17) };
}

async function readSnapshotMeta(engine: Engine): Promise<StoredSnapshotMeta | undefined> {
  const v = await engine.get(metaKey('snapshot'));
  if (v === undefined) return undefined;
  const parsed = JSON.parse(v.toString()) as { index: number; term: number; voters: string[]; learners: string[] };
  return { index: parsed.index, term: parsed.term, voters: parsed.voters.map(BigInt), learners: parsed.learners.map(BigInt) };
}

function encodeSnapshotMeta(meta: StoredSnapshotMeta): Buffer {
  return Buffer.from(JSON.stringify({
    index: meta.index, term: meta.term, voters: meta.voters.map(String), learners: meta.learners.map(String),
  }));
}
