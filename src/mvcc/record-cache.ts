import { LRUCache } from 'lru-cache';
import type { KeyValue } from './key-value';

/**
 * Records read lately, by revision id, up to a byte budget, least recently read out first. A read
 * served here skips the engine (a native call, a trip through libuv's thread pool and a decode,
 * 40–60 µs of a single-key read), where etcd reads bbolt's memory map in place. A revision's record
 * never changes once written, so nothing here goes stale; a compacted one is never asked for again
 * (the index no longer names it) and ages out.
 */
export class RecordCache {
  private readonly lru: LRUCache<string, KeyValue>;

  constructor(maxBytes: number) {
    // What a record costs beyond its bytes: the object, its Buffers and the map entry.
    this.lru = new LRUCache({ maxSize: maxBytes, sizeCalculation: (kv) => kv.key.length + kv.value.length + 200 });
  }

  get(revisionId: string): KeyValue | undefined {
    return this.lru.get(revisionId);
  }

  set(revisionId: string, kv: KeyValue): void {
    this.lru.set(revisionId, kv);
  }

  /** The records were replaced wholesale (a snapshot installed). */
  clear(): void {
    this.lru.clear();
  }
}
