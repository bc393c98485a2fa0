import { setImmediate } from 'node:timers/promises';
import { EngineOp } from '../storage/engine';
import { EMPTY_BYTES, toKeyString } from '../util/bytes';
import { encodeKeyValue, KeyValue } from './key-value';
import type { KvView, RangeOptions, RangeResult } from './kv-store';
import { revisionId, revisionKey } from './revision';
import { KeySpan, TreeIndex } from './tree-index';

/** What a write transaction may touch inside the store that started it. */
export interface WriteTxnHost {
  index: TreeIndex;
  compactRev(): number;
  unflushed: Map<string, KeyValue>;
  range(span: KeySpan, opts: RangeOptions, headRev: number): Promise<RangeResult>;
  commit(rev: number, changes: KeyValue[]): void;
}

/** Keys a DeleteRange tombstones between two turns of the event loop. */
const DELETE_SLICE_KEYS = 10_000;

/**
 * One write request's changes: all at main revision beginRev + 1, numbered by sub revision.
 * Its own reads see its earlier writes, as in etcd; other readers see none of it until end().
 */
export class WriteTxn implements KvView {
  /** The changes in order: puts as stored, deletes as a tombstone record holding only the key. */
  readonly changes: KeyValue[] = [];

  constructor(
    readonly beginRev: number,
    private readonly batch: EngineOp[],
    private readonly host: WriteTxnHost,
  ) {}

  /** The revision this transaction reads at and, if it writes, writes at. */
  get headRev(): number {
    return this.changes.length > 0 ? this.beginRev + 1 : this.beginRev;
  }

  get compactRev(): number {
    return this.host.compactRev();
  }

  range(span: KeySpan, opts: RangeOptions): Promise<RangeResult> {
    return this.host.range(span, opts, this.headRev);
  }

  put(key: Buffer, value: Buffer, lease: string): void {
    const rev = { main: this.beginRev + 1, sub: this.changes.length };
    const keyStr = toKeyString(key);
    const prev = this.host.index.put(keyStr, rev);
    const kv: KeyValue = {
      key,
      create_revision: prev ? prev.created.main : rev.main,
      mod_revision: rev.main,
      version: prev ? prev.version + 1 : 1,
      value,
      lease,
    };
    this.batch.push({ type: 'put', key: revisionKey(rev, false), value: encodeKeyValue(kv) });
    this.host.unflushed.set(revisionId(rev), kv);
    this.changes.push(kv);
  }

  /**
   * Deletes every key alive in the span and returns how many. A large range yields to the event loop every
   * DELETE_SLICE_KEYS keys so heartbeats keep flowing (120,000 keys held it for 400 ms); reads
   * meanwhile are at the revision before this one, which the tombstones at beginRev + 1 leave alone.
   */
  async deleteRange(span: KeySpan): Promise<number> {
    const keys = this.host.index.aliveKeys(span);
    for (let i = 0; i < keys.length; i++) {
      if (i > 0 && i % DELETE_SLICE_KEYS === 0) await setImmediate();
      const keyStr = keys[i]!;
      const rev = { main: this.beginRev + 1, sub: this.changes.length };
      const tomb: KeyValue = {
        key: Buffer.from(keyStr, 'latin1'), create_revision: 0, mod_revision: rev.main, version: 0,
        value: EMPTY_BYTES, lease: '0',
      };
      this.batch.push({ type: 'put', key: revisionKey(rev, true), value: encodeKeyValue({ ...tomb, mod_revision: 0 }) });
      this.host.index.tombstone(keyStr, rev);
      this.changes.push(tomb);
    }
    return keys.length;
  }

  /** Makes the changes visible to other readers; returns the store's revision after it. */
  end(): number {
    const rev = this.headRev;
    this.host.commit(rev, this.changes);
    return rev;
  }
}
