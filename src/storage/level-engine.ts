import { ClassicLevel } from 'classic-level';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Engine, EngineOp, EngineSnapshot, KeyRange } from './engine';

/** How many entries one iterator step reads; large enough to amortise the native call. */
const ITERATOR_CHUNK = 1000;

/** The durable engine: LevelDB through classic-level, with binary keys and values. */
export class LevelEngine implements Engine {
  private constructor(
    private readonly db: ClassicLevel<Buffer, Buffer>,
    private readonly location: string,
  ) {}

  static async open(location: string): Promise<LevelEngine> {
    const db = new ClassicLevel<Buffer, Buffer>(location, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    return new LevelEngine(db, location);
  }

  get(key: Buffer): Promise<Buffer | undefined> {
    return this.db.get(key);
  }

  getMany(keys: Buffer[]): Promise<Array<Buffer | undefined>> {
    return keys.length === 0 ? Promise.resolve([]) : this.db.getMany(keys);
  }

  write(ops: EngineOp[], options: { sync: boolean }): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    return this.db.batch(ops, { sync: options.sync });
  }

  entries(range: KeyRange): AsyncIterable<[Buffer, Buffer]> {
    return this.scan(range, undefined);
  }

  snapshot(): EngineSnapshot {
    const snapshot = this.db.snapshot();
    return {
      get: (key) => this.db.get(key, { snapshot }),
      entries: (range) => this.scan(range, snapshot),
      close: () => snapshot.close(),
    };
  }

  private async *scan(range: KeyRange, snapshot: ReturnType<ClassicLevel['snapshot']> | undefined): AsyncIterable<[Buffer, Buffer]> {
    const it = this.db.iterator({ gte: range.gte, lt: range.lt, snapshot });
    try {
      for (;;) {
        const chunk = await it.nextv(ITERATOR_CHUNK);
        if (chunk.length === 0) return;
        yield* chunk;
      }
    } finally {
      await it.close();
    }
  }

  async *keys(range: KeyRange): AsyncIterable<Buffer> {
    const it = this.db.keys({ gte: range.gte, lt: range.lt });
    try {
      for (;;) {
        const chunk = await it.nextv(ITERATOR_CHUNK);
        if (chunk.length === 0) return;
        yield* chunk;
      }
    } finally {
      await it.close();
    }
  }

  async lastKey(range: KeyRange): Promise<Buffer | undefined> {
    const [key] = await this.db.keys({ gte: range.gte, lt: range.lt, reverse: true, limit: 1 }).all();
    return key;
  }

  clear(range: KeyRange): Promise<void> {
    return this.db.clear({ gte: range.gte, lt: range.lt });
  }

  async sizeOnDisk(): Promise<number> {
    let total = 0;
    for (const name of await readdir(this.location)) total += await this.fileSize(name);
    return total;
  }

  /**
   * LevelDB's estimate of the table files over the whole key space, plus the write-ahead log files
   * whose writes are not in a table yet (they may hold overwritten data, which it cannot tell).
   */
  async sizeInUse(): Promise<number> {
    let logs = 0;
    for (const name of await readdir(this.location)) {
      if (name.endsWith('.log') && name !== 'LOG') logs += await this.fileSize(name);
    }
    const tables = await this.db.approximateSize(Buffer.from([0x00]), Buffer.from([0xff]));
    return Math.min(tables + logs, await this.sizeOnDisk());
  }

  /** A file LevelDB deleted (a compaction ended) between the listing and the stat holds nothing. */
  private async fileSize(name: string): Promise<number> {
    try {
      return (await stat(join(this.location, name))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
  }

  compactRange(range: KeyRange): Promise<void> {
    return this.db.compactRange(range.gte, range.lt);
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
