import { Engine, EngineOp } from '../storage/engine';
import { metaKey, PREFIX_REVISION, prefixRange } from '../storage/keyspace';
import { Generation, KeyIndex } from './key-index';
import { Revision } from './revision';
import { TreeIndex } from './tree-index';

/**
 * The key index saved when a member stops cleanly, so that its next start reads it back instead of
 * rebuilding it from every revision record. With a million keys the rebuild took 4 s, half of it
 * classic-level creating a Buffer for each record's key and value; the saved index is a few large
 * values.
 *
 * It is only good for the records it was saved from. The start that reads it deletes it before
 * anything else is written, so a crash later falls back to the rebuild; and it names the last
 * revision record and the compaction it saw, which the start checks against the engine.
 */
export interface IndexCheckpoint {
  index: TreeIndex;
  /** The store's revision when it was saved. */
  rev: number;
  /** Leases of the keys that had one, by key. */
  leased: Map<string, string>;
}

/** What the start checks before trusting a checkpoint, and where its chunks are. */
interface Header {
  rev: number;
  compactRev: number;
  /** The greatest revision record key then, hex; '' when there was none. */
  lastRecord: string;
  chunks: number;
}

const HEADER = metaKey('index-checkpoint');
/** Bytes a chunk holds at most, unless one key's history needs more. */
const CHUNK_BYTES = 8 << 20;

/** The greatest revision record key, hex; '' when there is none. */
async function lastRecordKey(engine: Engine): Promise<string> {
  return (await engine.lastKey(prefixRange(PREFIX_REVISION)))?.toString('hex') ?? '';
}

function chunkKey(n: number): Buffer {
  return Buffer.concat([HEADER, Buffer.from(`/${n}`, 'ascii')]);
}

/**
 * The operations that save `index` (which must hold every record in the engine, compacted at
 * `compactRev` with the physical compaction finished) and the keys' leases.
 */
export async function saveOps(engine: Engine, index: TreeIndex, leased: ReadonlyMap<string, string>, rev: number, compactRev: number): Promise<EngineOp[]> {
  const writer = new ChunkWriter();
  for (const ki of index.keyIndexes()) writer.add(ki, leased.get(ki.key) ?? '');
  const chunks = writer.finish();
  const header: Header = { rev, compactRev, lastRecord: await lastRecordKey(engine), chunks: chunks.length };
  return [
    ...chunks.map((value, n): EngineOp => ({ type: 'put', key: chunkKey(n), value })),
    { type: 'put', key: HEADER, value: Buffer.from(JSON.stringify(header)) },
  ];
}

/**
 * The saved index if there is one and it matches the engine's records and `compaction`, which
 * must be finished; undefined otherwise. Either way, what was saved is deleted (`deleteOps`).
 */
export async function load(engine: Engine, compaction: { scheduled: number; finished: number }): Promise<{ checkpoint?: IndexCheckpoint; deleteOps: EngineOp[] }> {
  const raw = await engine.get(HEADER);
  if (raw === undefined) return { deleteOps: [] };
  const header = JSON.parse(raw.toString()) as Header;
  const deleteOps: EngineOp[] = [{ type: 'del', key: HEADER }];
  for (let n = 0; n < header.chunks; n++) deleteOps.push({ type: 'del', key: chunkKey(n) });
  const matches = await lastRecordKey(engine) === header.lastRecord && compaction.finished === compaction.scheduled && header.compactRev === compaction.scheduled;
  if (!matches) return { deleteOps };
  const reader = new ChunkReader();
  for (let n = 0; n < header.chunks; n++) {
    const chunk = await engine.get(chunkKey(n));
    if (chunk === undefined) return { deleteOps };
    reader.read(chunk);
  }
  return { checkpoint: { index: TreeIndex.fromSorted(reader.keys, reader.keyIndexes), rev: header.rev, leased: reader.leased }, deleteOps };
}

/*
 * A chunk is a run of keys in key order, each:
 *   u32 key length, the key's bytes, u8 lease length, the lease ID's decimal digits (none: 0),
 *   u32 lives, and for each life: f64 created main, u32 created sub, f64 version, u32 revisions,
 *   then each revision as f64 main, u32 sub.
 * Numbers are little-endian; revisions and versions are safe integers, exact as doubles.
 */

class ChunkWriter {
  private readonly chunks: Buffer[] = [];
  private buf = Buffer.allocUnsafe(CHUNK_BYTES);
  private pos = 0;

  add(ki: KeyIndex, lease: string): void {
    const lives = ki.lives;
    let size = 4 + ki.key.length + 1 + lease.length + 4;
    for (const g of lives) size += 24 + 12 * g.revs.length;
    if (this.pos + size > this.buf.length) {
      this.cut();
      if (size > this.buf.length) this.buf = Buffer.allocUnsafe(size);
    }
    const b = this.buf;
    let p = b.writeUInt32LE(ki.key.length, this.pos);
    p = writeLatin1(b, ki.key, p);
    p = b.writeUInt8(lease.length, p);
    p = writeLatin1(b, lease, p);
    p = b.writeUInt32LE(lives.length, p);
    for (const g of lives) {
      p = b.writeDoubleLE(g.created.main, p);
      p = b.writeUInt32LE(g.created.sub, p);
      p = b.writeDoubleLE(g.version, p);
      p = b.writeUInt32LE(g.revs.length, p);
      for (const r of g.revs) {
        p = b.writeDoubleLE(r.main, p);
        p = b.writeUInt32LE(r.sub, p);
      }
    }
    this.pos = p;
  }

  finish(): Buffer[] {
    if (this.pos > 0) this.cut();
    return this.chunks;
  }

  private cut(): void {
    this.chunks.push(Buffer.from(this.buf.subarray(0, this.pos)));
    this.buf = Buffer.allocUnsafe(CHUNK_BYTES);
    this.pos = 0;
  }
}

/**
 * A latin1 string's bytes at `at`; returns the offset after them. A loop, not Buffer.write: keys
 * are short, and Buffer.write's layers cost more than the copy (half the time of saving 1M keys).
 */
function writeLatin1(b: Buffer, text: string, at: number): number {
  for (let i = 0; i < text.length; i++) b[at + i] = text.charCodeAt(i);
  return at + text.length;
}

class ChunkReader {
  readonly keys: string[] = [];
  readonly keyIndexes: KeyIndex[] = [];
  readonly leased = new Map<string, string>();

  read(b: Buffer): void {
    let p = 0;
    while (p < b.length) {
      const keyLength = b.readUInt32LE(p);
      const key = b.toString('latin1', p + 4, p + 4 + keyLength);
      p += 4 + keyLength;
      const leaseLength = b.readUInt8(p);
      if (leaseLength > 0) this.leased.set(key, b.toString('latin1', p + 1, p + 1 + leaseLength));
      p += 1 + leaseLength;
      const lives: Generation[] = new Array(b.readUInt32LE(p));
      p += 4;
      for (let i = 0; i < lives.length; i++) {
        const createdMain = b.readDoubleLE(p);
        const createdSub = b.readUInt32LE(p + 8);
        const version = b.readDoubleLE(p + 12);
        const revs: Revision[] = new Array(b.readUInt32LE(p + 20));
        p += 24;
        for (let r = 0; r < revs.length; r++) {
          revs[r] = { main: b.readDoubleLE(p), sub: b.readUInt32LE(p + 8) };
          p += 12;
        }
        // Mostly the life's first revision: one object fewer per key (revisions are never changed).
        const first = revs[0];
        const created = first?.main === createdMain && first.sub === createdSub ? first : { main: createdMain, sub: createdSub };
        lives[i] = { created, version, revs };
      }
      this.keys.push(key);
      this.keyIndexes.push(KeyIndex.fromLives(key, lives));
    }
  }
}
