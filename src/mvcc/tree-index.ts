import BTree, { defaultComparator } from 'sorted-btree';
import { bulkLoad } from 'sorted-btree/extended/bulkLoad';
import { KeyAtRevision, KeyIndex } from './key-index';
import { Revision, revisionId } from './revision';

/** A key as found by a range over the index. */
export interface IndexedKey extends KeyAtRevision {
  key: string;
}

/**
 * A key range over latin1 key strings: `end` undefined is the single key `start`; `end` '' is every
 * key from `start` on (the wire's "\0"); otherwise the half-open interval [start, end).
 */
export interface KeySpan {
  start: string;
  end: string | undefined;
}

export function spanContains(span: KeySpan, key: string): boolean {
  if (span.end === undefined) return key === span.start;
  return key >= span.start && (span.end === '' || key < span.end);
}

/** Entries per B+ tree node: sorted-btree's default. */
const NODE_SIZE = 32;

/**
 * The in-memory index from key to its revision history, ordered by key bytes. Rebuilt from the
 * revision records at start, or read back as saved at a clean stop (index-checkpoint.ts); every
 * write goes through it, every read starts from it.
 */
export class TreeIndex {
  constructor(private readonly tree = new BTree<string, KeyIndex>(undefined, defaultComparator, NODE_SIZE)) {}

  /** An index of these keys, sorted and distinct, built in one pass rather than key by key. */
  static fromSorted(keys: string[], keyIndexes: KeyIndex[]): TreeIndex {
    return new TreeIndex(bulkLoad(keys, keyIndexes, NODE_SIZE, defaultComparator));
  }

  /** Every key's history, in key order. */
  keyIndexes(): IterableIterator<KeyIndex> {
    return this.tree.values();
  }

  get size(): number {
    return this.tree.size;
  }

  /**
   * Records a put and returns the key as it stood at `rev.main` just before it (earlier puts of
   * the same txn included): one tree lookup for what a write needs of the key and for the put.
   */
  put(key: string, rev: Revision): KeyAtRevision | undefined {
    let ki = this.tree.get(key);
    if (ki === undefined) {
      ki = new KeyIndex(key);
      this.tree.set(key, ki);
    }
    const before = ki.get(rev.main);
    ki.put(rev);
    return before;
  }

  /** Replays one revision record at start; see KeyIndex.restorePut. */
  restore(key: string, rev: Revision, record: { tombstone: boolean; createdMain: number; version: number }): void {
    let ki = this.tree.get(key);
    if (record.tombstone) {
      // A kept tombstone whose earlier life was compacted away has nothing left to close.
      if (ki?.isAlive()) ki.tombstone(rev);
      return;
    }
    if (ki === undefined) {
      ki = new KeyIndex(key);
      this.tree.set(key, ki);
    }
    ki.restorePut(rev, record.createdMain, record.version);
  }

  get(key: string, atRev: number): KeyAtRevision | undefined {
    return this.tree.get(key)?.get(atRev);
  }

  /** Keys alive at the head of history within the span, in key order (deletes act on these). */
  aliveFrom(span: KeySpan, limit: number): KeyIndex[] {
    const out: KeyIndex[] = [];
    this.visit(span, (ki) => {
      if (out.length === limit) return false;
      if (ki.isAlive()) out.push(ki);
      return true;
    });
    return out;
  }

  /**
   * Keys alive at `atRev` within the span, in key order. Collects at most `limit` of them
   * (0 = no limit) but always counts them all.
   */
  range(span: KeySpan, atRev: number, limit: number): { keys: IndexedKey[]; total: number } {
    const keys: IndexedKey[] = [];
    let total = 0;
    this.visit(span, (ki) => {
      const at = ki.get(atRev);
      if (at !== undefined) {
        total++;
        if (limit <= 0 || keys.length < limit) keys.push({ key: ki.key, ...at });
      }
    });
    return { keys, total };
  }

  /** Compacts every key's history at `atRev`; returns the revisions whose records must survive. */
  compact(atRev: number): Set<string> {
    const keep = new Set<string>();
    const emptied: string[] = [];
    for (const [key, ki] of this.tree.entries()) {
      if (ki.compact(atRev, keep)) emptied.push(key);
    }
    for (const key of emptied) this.tree.delete(key);
    return keep;
  }

  /**
   * The revisions a compaction at `atRev` would keep, changing nothing (etcd's Keep): for each key
   * alive at `atRev`, the revision a read then resolves to.
   */
  keep(atRev: number): Set<string> {
    const keep = new Set<string>();
    for (const ki of this.tree.values()) {
      const at = ki.get(atRev);
      if (at !== undefined) keep.add(revisionId(at.modified));
    }
    return keep;
  }

  /** Calls `onKey` for each key of the span in key order, until it returns false. */
  private visit(span: KeySpan, onKey: (ki: KeyIndex) => boolean | void): void {
    if (span.end === undefined) {
      const ki = this.tree.get(span.start);
      if (ki !== undefined) onKey(ki);
      return;
    }
    for (const [key, ki] of this.tree.entries(span.start)) {
      if ((span.end !== '' && key >= span.end) || onKey(ki) === false) return;
    }
  }
}
