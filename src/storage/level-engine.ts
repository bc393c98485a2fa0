import { setImmediate } from 'node:timers/promises';
import { ClassicLevel } from 'classic-level';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Engine, EngineOp, EngineSnapshot, KeyRange, LargeBatch } from './engine';

/** How many entries one iterator step reads; large enough to amortise the native call. */
const ITERATOR_CHUNK = 1000;
/**
 * Bytes one iterator step may read. classic-level's default, 16 KiB, stops a step of 300-byte
 * records after about 50 of them; this lets a step hold ITERATOR_CHUNK records of 1 KiB, which
 * made a scan of 300,000 records 40 % faster.
 */
const ITERATOR_CHUNK_BYTES = 1 << 20;

/** Operations a batch takes between two turns of the event loop while it is built (see writeGroup). */
const BATCH_SLICE_OPS = 10_000;

/** classic-level's chained batch: its implementer methods take Buffers as they are (see writeGroup). */
interface NativeChainedBatch {
  _put(key: Buffer, value: Buffer): void;
  _del(key: Buffer): void;
  _write(options: { sync: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** Writes that go to the native store together, as one atomic batch. */
interface WriteGroup {
  /** A batch built beforehand (largeBatch): the group's batches follow its operations. */
  prepared?: NativeChainedBatch;
  batches: EngineOp[][];
  sync: boolean;
  /** Called once the batch landed or failed; also by those waiting only for it to be over. */
  done: Array<(err?: unknown) => void>;
  /** Set when `done` is called: the group stays in flight until the next one is taken. */
  over?: true;
}

/** The durable engine: LevelDB through classic-level, with binary keys and values. */
export class LevelEngine implements Engine {
  /**
   * The writes that arrived while a group was in flight, in groups to go one after another: the
   * next together, unless a prepared batch starts a group of its own (its operations come first).
   */
  private readonly waiting: WriteGroup[] = [];
  /** The group the native store is writing now. */
  private inFlight: WriteGroup | undefined;

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

  /**
   * Writes reach LevelDB one group at a time, in the order they were asked for: while a group is
   * in flight, the writes that arrive wait and then go together as one atomic batch, fsynced if
   * any of them asked. The order matters: two native writes in flight at once may land in either
   * order, and the applier's batches each write the applied index, which must never go back. The
   * grouping saves a thread-pool round trip per write that waits (an apply behind another).
   */
  write(ops: EngineOp[], options: { sync: boolean }): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    return this.enqueue(ops, options);
  }

  largeBatch(): LargeBatch {
    const batch = this.nativeBatch();
    let spent = false;
    const unspent = () => {
      if (spent) throw new Error('the large batch was already written or discarded');
    };
    return {
      put: (key, value) => {
        unspent();
        batch._put(key, value);
      },
      write: (more, options) => {
        unspent();
        spent = true;
        return this.enqueue(more, options, batch);
      },
      discard: () => {
        if (spent) return;
        spent = true;
        void batch.close();
      },
    };
  }

  private nativeBatch(): NativeChainedBatch {
    return this.db.batch() as unknown as NativeChainedBatch;
  }

  private enqueue(ops: EngineOp[], options: { sync: boolean }, prepared?: NativeChainedBatch): Promise<void> {
    const closed = this.closedError();
    if (closed !== undefined) {
      void prepared?.close();
      return Promise.reject(closed);
    }
    return new Promise((resolve, reject) => {
      let group = this.waiting[this.waiting.length - 1];
      if (group === undefined || prepared !== undefined) {
        group = { ...(prepared && { prepared }), batches: [], sync: false, done: [] };
        this.waiting.push(group);
      }
      group.batches.push(ops);
      group.sync ||= options.sync;
      group.done.push((err) => (err === undefined ? resolve() : reject(err)));
      if (this.inFlight === undefined) this.writeWaiting();
    });
  }

  private writeWaiting(): void {
    const group = this.waiting.shift();
    this.inFlight = group;
    if (group === undefined) return;
    const over = (err?: unknown) => {
      group.over = true;
      for (const done of group.done) done(err);
    };
    this.writeGroup(group).then(() => over(), over).finally(() => this.writeWaiting());
  }

  /** abstract-level's own check, which the native calls do not make. */
  private closedError(): Error | undefined {
    return this.db.status === 'open' ? undefined : new Error(`LevelDB at ${this.location} is not open (${this.db.status})`);
  }

  /**
   * Writes a group as one atomic batch, onto the one prepared beforehand if it starts with one
   * (largeBatch). The batch is built through the native chained batch's own methods, past
   * abstract-level's `batch()` and `put()`, which clone, check and re-encode every operation for
   * hooks, events and sublevels we do not use (35 % of a member's CPU while it caught up; a quarter
   * of installing a million-record snapshot). classic-level's array batch (`_batch`) reads each
   * operation's three properties through N-API: 1.1 µs of the event loop an operation against 0.5
   * for `_put` (100-operation batches: 110 against 50 µs; level at 2). A large group is built a
   * slice at a time, letting heartbeats through in between: with the DeleteRange building it,
   * 120,000 tombstones in one native call held the loop for 457 ms.
   */
  private async writeGroup(group: WriteGroup): Promise<void> {
    const closed = this.closedError();
    if (closed !== undefined) {
      void group.prepared?.close();
      throw closed;
    }
    const batch = group.prepared ?? this.nativeBatch();
    try {
      let built = 0;
      for (const ops of group.batches) {
        for (const op of ops) {
          if (op.type === 'put') batch._put(op.key, op.value);
          else batch._del(op.key);
          if (++built % BATCH_SLICE_OPS === 0) await setImmediate();
        }
      }
      const closedMeanwhile = this.closedError();
      if (closedMeanwhile !== undefined) throw closedMeanwhile;
      await batch._write({ sync: group.sync });
    } finally {
      await batch.close();
    }
  }

  entries(range: KeyRange): AsyncIterable<[Buffer, Buffer]> {
    return flatten(this.scan(range, undefined));
  }

  /** Resolves once every write asked for so far is over, landed or failed. */
  private settled(): Promise<void> {
    // The waiting groups go after the one in flight, so the newest is the last to be over.
    const last = this.waiting[this.waiting.length - 1] ?? this.inFlight;
    // A group just over is in flight until the next is taken; a waiter added to it then would
    // never be called (a snapshot taken as a write's caller resumed hung for good).
    if (last === undefined || last.over === true) return Promise.resolve();
    return new Promise((resolve) => last.done.push(() => resolve()));
  }

  async snapshot(): Promise<EngineSnapshot> {
    await this.settled();
    const snapshot = this.db.snapshot();
    return {
      get: (key) => this.db.get(key, { snapshot }),
      entries: (range) => flatten(this.scan(range, snapshot)),
      entryChunks: (range) => this.scan(range, snapshot),
      close: () => snapshot.close(),
    };
  }

  entryChunks(range: KeyRange): AsyncIterable<Array<[Buffer, Buffer]>> {
    return this.scan(range, undefined);
  }

  /**
   * Reads the next chunk while the caller works on the current one: the native read runs on
   * libuv's thread pool, so a long scan (the key index at start) costs about the larger of the
   * two instead of their sum.
   */
  private async *scan(range: KeyRange, snapshot: ReturnType<ClassicLevel['snapshot']> | undefined): AsyncIterable<Array<[Buffer, Buffer]>> {
    const it = this.db.iterator({ gte: range.gte, lt: range.lt, snapshot, highWaterMarkBytes: ITERATOR_CHUNK_BYTES });
    let next: Promise<Array<[Buffer, Buffer]>> | undefined = it.nextv(ITERATOR_CHUNK);
    try {
      for (;;) {
        const chunk = await next;
        next = undefined;
        if (chunk.length === 0) return;
        next = it.nextv(ITERATOR_CHUNK);
        yield chunk;
      }
    } finally {
      // A caller that stopped early leaves a read in flight: let it finish before closing under it.
      await next?.catch(() => undefined);
      await it.close();
    }
  }

  async *keys(range: KeyRange): AsyncIterable<Buffer> {
    const it = this.db.keys({ gte: range.gte, lt: range.lt, highWaterMarkBytes: ITERATOR_CHUNK_BYTES });
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
      const st = await stat(join(this.location, name));
      return st.isFile() ? st.size : 0; // the WAL's directory beside the files is not the engine's
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

async function* flatten<T>(chunks: AsyncIterable<T[]>): AsyncIterable<T> {
  for await (const chunk of chunks) yield* chunk;
}
