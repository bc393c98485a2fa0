import { invariant } from '../util/invariant';
import { LogCompactedError } from './errors';
import { ConfState, Entry, HardState, NONE, Snapshot } from './types';

/**
 * What the Raft core reads of its stable log, synchronously. The application keeps it in
 * memory (MemoryStorage) and makes it durable on its own disk before calling advance().
 */
export interface RaftStorage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries [lo, hi), at most `maxBytes` of data but always at least one. Throws LogCompactedError. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Term of the entry at `i`; throws LogCompactedError below the first index - 1. */
  term(i: number): number;
  lastIndex(): number;
  firstIndex(): number;
  snapshot(): Snapshot;
}

/**
 * The stable log in memory, as etcd's MemoryStorage: `ents[0]` is a dummy standing for the last
 * compacted entry (the snapshot's index and term).
 */
export class MemoryStorage implements RaftStorage {
  private hardState: HardState = { term: 0, vote: NONE, commit: 0 };
  private snap: Snapshot = { metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } }, data: new Uint8Array() };
  private ents: Entry[] = [{ term: 0, index: 0, type: 'normal', data: new Uint8Array() }];
  /** Bytes of entry data held (the dummy's data is always empty). */
  private bytes = 0;

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hardState }, confState: this.snap.metadata.confState };
  }

  setHardState(hs: HardState): void {
    this.hardState = { ...hs };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.ents[0]!.index;
    if (lo <= offset) throw new LogCompactedError();
    invariant(hi <= this.lastIndex() + 1, () => `entries' hi(${hi}) is out of bound lastindex(${this.lastIndex()})`);
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxBytes);
  }

  term(i: number): number {
    const offset = this.ents[0]!.index;
    if (i < offset) throw new LogCompactedError();
    const e = this.ents[i - offset];
    invariant(e !== undefined, () => `term(${i}) beyond last index ${this.lastIndex()}`);
    return e.term;
  }

  lastIndex(): number {
    return this.ents[0]!.index + this.ents.length - 1;
  }

  firstIndex(): number {
    return this.ents[0]!.index + 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Bytes of entry data the log holds in memory. */
  get dataBytes(): number {
    return this.bytes;
  }

  /**
   * The lowest index to compact to (see compact) that leaves at most `maxBytes` of entry data
   * in the entries after it up to `to`.
   */
  compactIndexKeeping(to: number, maxBytes: number): number {
    const offset = this.ents[0]!.index;
    let index = to;
    let size = 0;
    while (index > offset && size + this.ents[index - offset]!.data.length <= maxBytes) {
      size += this.ents[index - offset]!.data.length;
      index--;
    }
    return index;
  }

  /** Replaces the whole log with a snapshot (a follower catching up, or a restart from one). */
  applySnapshot(snap: Snapshot): void {
    invariant(snap.metadata.index >= this.snap.metadata.index, 'snapshot is older than the current one');
    this.snap = snap;
    this.ents = [{ term: snap.metadata.term, index: snap.metadata.index, type: 'normal', data: new Uint8Array() }];
    this.bytes = 0;
  }

  /** Records that the application's state at `index` is a snapshot; the log is not changed. */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    invariant(index > this.snap.metadata.index, `snapshot ${index} is not newer than ${this.snap.metadata.index}`);
    invariant(index <= this.lastIndex(), `snapshot ${index} is beyond the last index ${this.lastIndex()}`);
    this.snap = { metadata: { index, term: this.term(index), confState }, data };
    return this.snap;
  }

  /** Discards entries before `compactIndex`; it becomes the dummy entry. */
  compact(compactIndex: number): void {
    const offset = this.ents[0]!.index;
    if (compactIndex <= offset) return;
    invariant(compactIndex <= this.lastIndex(), `compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`);
    const i = compactIndex - offset;
    const head = this.ents[i]!;
    for (let n = 1; n <= i; n++) this.bytes -= this.ents[n]!.data.length;
    this.ents = [{ term: head.term, index: head.index, type: 'normal', data: new Uint8Array() }, ...this.ents.slice(i + 1)];
  }

  /** Appends entries, replacing any conflicting suffix. Entries already compacted are skipped. */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return;
    const ents = first > entries[0]!.index ? entries.slice(first - entries[0]!.index) : entries;
    const offset = ents[0]!.index - this.ents[0]!.index;
    invariant(offset <= this.ents.length, () => `missing log entry [last: ${this.lastIndex()}, append at: ${ents[0]!.index}]`);
    for (let n = offset; n < this.ents.length; n++) this.bytes -= this.ents[n]!.data.length;
    this.ents.length = offset; // drops a conflicting suffix, if any
    for (const e of ents) {
      this.ents.push(e);
      this.bytes += e.data.length;
    }
  }
}

/** Keeps entries while their data totals at most maxBytes, but always the first one. */
export function limitSize(ents: Entry[], maxBytes: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = ents[0]!.data.length;
  let n = 1;
  while (n < ents.length) {
    size += ents[n]!.data.length;
    if (size > maxBytes) break;
    n++;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}
