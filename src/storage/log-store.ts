import { Engine } from './engine';
import { logIndexOf, logKey, prefixRange, PREFIX_LOG } from './keyspace';
import { readUint64BE, writeUint64BE } from '../util/bytes';

/** A replicated-log entry: its position, the term it was proposed in, and the proposal's bytes. */
export interface LogEntry {
  index: number;
  term: number;
  data: Buffer;
}

/**
 * The durable log: entries under the 'l' prefix, each stored as term (8 bytes) then data.
 * An append is fsynced before it resolves: this is where a write becomes durable.
 */
export class LogStore {
  constructor(private readonly engine: Engine) {}

  append(entries: LogEntry[]): Promise<void> {
    return this.engine.write(
      entries.map((e) => ({ type: 'put' as const, key: logKey(e.index), value: encodeEntry(e) })),
      { sync: true },
    );
  }

  /** Entries from `fromIndex` on, in order. */
  async entriesFrom(fromIndex: number): Promise<LogEntry[]> {
    const out: LogEntry[] = [];
    const { lt } = prefixRange(PREFIX_LOG);
    for await (const [key, value] of this.engine.entries({ gte: logKey(fromIndex), lt })) {
      out.push({ index: logIndexOf(key), term: readUint64BE(value, 0), data: value.subarray(8) });
    }
    return out;
  }

  /** The last index stored, or 0 for an empty log. */
  async lastIndex(): Promise<number> {
    const key = await this.engine.lastKey(prefixRange(PREFIX_LOG));
    return key === undefined ? 0 : logIndexOf(key);
  }

  /** Drops entries before `index`; they are already applied and no one can need them again. */
  compactBefore(index: number): Promise<void> {
    return this.engine.clear({ gte: logKey(0), lt: logKey(index) });
  }
}

function encodeEntry(e: LogEntry): Buffer {
  const out = Buffer.allocUnsafe(8 + e.data.length);
  writeUint64BE(out, 0, e.term);
  e.data.copy(out, 8);
  return out;
}
