/**
 * The small interface the layers above need from an ordered, durable key-value engine.
 * Keys sort bytewise. A write is one atomic batch; `sync` makes it durable (fsync) before it resolves.
 */
export type EngineOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

export interface KeyRange {
  gte: Buffer;
  lt: Buffer;
}

/** An atomic batch built beforehand: its puts, then what write() is given, land together or not at all. */
export interface LargeBatch {
  put(key: Buffer, value: Buffer): void;
  /** Writes the batch with `more` after its puts, in order with the other writes. Once only. */
  write(more: EngineOp[], options: { sync: boolean }): Promise<void>;
  /** Gives the batch up unwritten; nothing once it was written. */
  discard(): void;
}

/** Point reads and ordered scans. */
export interface EngineReader {
  get(key: Buffer): Promise<Buffer | undefined>;
  /** Entries of a range in key order, read in chunks from one consistent snapshot. */
  entries(range: KeyRange): AsyncIterable<[Buffer, Buffer]>;
  /** The same a chunk at a time: for scans of millions, where a step per entry costs. */
  entryChunks(range: KeyRange): AsyncIterable<Array<[Buffer, Buffer]>>;
}

/** The engine as it was at one instant; writes after it are not seen. Close it when done. */
export interface EngineSnapshot extends EngineReader {
  close(): Promise<void>;
}

export interface Engine extends EngineReader {
  getMany(keys: Buffer[]): Promise<Array<Buffer | undefined>>;
  write(ops: EngineOp[], options: { sync: boolean }): Promise<void>;
  /**
   * A batch to build a record at a time while it arrives (a snapshot from the leader), apart from
   * the other writes, then write in order with them. Write or discard it: it holds native memory.
   */
  largeBatch(): LargeBatch;
  /**
   * Fixes the state for reads that must all see the same instant: the state once every write
   * asked for before this call has landed. A member answers a request once the request is
   * applied in memory, before its batch lands; a snapshot taken after the answer must hold it.
   */
  snapshot(): Promise<EngineSnapshot>;
  /** Keys of a range in key order, without reading values. */
  keys(range: KeyRange): AsyncIterable<Buffer>;
  /** The greatest key of a range, if any. */
  lastKey(range: KeyRange): Promise<Buffer | undefined>;
  /** Deletes every key of a range (not synced: callers delete only what they can recompute). */
  clear(range: KeyRange): Promise<void>;
  /** Bytes the engine occupies on disk. */
  sizeOnDisk(): Promise<number>;
  /** An estimate of the bytes on disk that hold data, at most sizeOnDisk(); the rest a compaction can give back. */
  sizeInUse(): Promise<number>;
  /** Asks the engine to rewrite a range so deleted data gives back its space. */
  compactRange(range: KeyRange): Promise<void>;
  close(): Promise<void>;
}
