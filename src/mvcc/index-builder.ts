import { setImmediate } from 'node:timers/promises';
import { decodeIndexFields } from './key-value';
import { parseRevisionKey } from './revision';
import { TreeIndex } from './tree-index';

/** Records indexed between two yields to the event loop when building beside other work. */
const RECORDS_PER_SLICE = 10_000;

/**
 * A key index built from revision records given in revision order, with what a load needs besides:
 * the newest revision seen and the lease that holds each key now.
 */
export class IndexBuilder {
  readonly index = new TreeIndex();
  /** Key → lease ID, for keys whose newest record has a lease. */
  readonly leased = new Map<string, string>();
  /** The newest main revision seen (etcd's store starts at 1). */
  rev = 1;
  records = 0;

  add(k: Buffer, v: Buffer): void {
    const { rev, tombstone } = parseRevisionKey(k);
    const { key, create_revision, version, lease } = decodeIndexFields(v);
    this.index.restore(key, rev, { tombstone, createdMain: create_revision, version });
    // Records come in revision order, so the last one of a key says which lease holds it now.
    if (tombstone || lease === '0') this.leased.delete(key);
    else this.leased.set(key, lease);
    this.rev = Math.max(this.rev, rev.main);
    this.records++;
  }

  /** Adds engine records as they are read, a chunk at a time. */
  async addChunks(source: AsyncIterable<Array<[Buffer, Buffer]>>): Promise<this> {
    for await (const chunk of source) for (const [k, v] of chunk) this.add(k, v);
    return this;
  }

  /**
   * Adds records held in memory, yielding to the event loop every RECORDS_PER_SLICE of them: a
   * snapshot install builds its index while the batch of the same records is built and written,
   * and heartbeats must get through meanwhile.
   */
  async addYielding(records: Iterable<[Buffer, Buffer]>): Promise<this> {
    for (const [k, v] of records) {
      this.add(k, v);
      if (this.records % RECORDS_PER_SLICE === 0) await setImmediate();
    }
    return this;
  }
}
