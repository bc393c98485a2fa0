import { decodeIndexFields } from './key-value';
import { parseRevisionKey } from './revision';
import { TreeIndex } from './tree-index';

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
    this.addFrom(k, 0, k.length, v, 0, v.length);
  }

  /**
   * Adds the record whose key is k[keyStart, keyEnd) and value v[valueStart, valueEnd): k and v
   * may be one buffer holding many records, read in place.
   */
  addFrom(k: Buffer, keyStart: number, keyEnd: number, v: Buffer, valueStart: number, valueEnd: number): void {
    const { rev, tombstone } = parseRevisionKey(k, keyStart, keyEnd);
    const { key, create_revision, version, lease } = decodeIndexFields(v, valueStart, valueEnd);
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
}
