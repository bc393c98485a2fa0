import { invariant } from '../util/invariant';
import { LogCompactedError } from './errors';
import { Unstable } from './log-unstable';
import { limitSize, RaftStorage } from './storage';
import { Entry, Snapshot } from './types';

const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/**
 * The log as the Raft core sees it: stable entries in storage, then the unstable tail.
 * committed >= applied always; committed never goes back.
 */
export class RaftLog {
  readonly unstable: Unstable;
  committed: number;
  applied: number;

  constructor(readonly storage: RaftStorage) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    // A restart from a snapshot has applied and committed up to it at least.
    this.committed = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    invariant(t !== undefined, 'the last entry has no term');
    return t;
  }

  /** Term of entry `i`, or undefined when compacted away or beyond the log. */
  term(i: number): number | undefined {
    const dummy = this.firstIndex() - 1;
    if (i < dummy || i > this.lastIndex()) return undefined;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    try {
      return this.storage.term(i);
    } catch (err) {
      if (err instanceof LogCompactedError) return undefined;
      throw err;
    }
  }

  matchTerm(i: number, term: number): boolean {
    return this.term(i) === term;
  }

  /**
   * Appends a leader's entries after (index, logTerm) if they match there; returns the index of
   * the last new entry, or undefined when the logs do not match (the follower rejects).
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      invariant(ci > this.committed, () => `entry ${ci} conflicts with committed entry [committed(${this.committed})]`);
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(ents: Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    invariant(ents[0]!.index - 1 >= this.committed, () => `after(${ents[0]!.index - 1}) is out of range [committed(${this.committed})]`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** The index of the first entry that is new or conflicts with the log; 0 if all are present. */
  findConflict(ents: Entry[]): number {
    for (const e of ents) if (!this.matchTerm(e.index, e.term)) return e.index;
    return 0;
  }

  /**
   * The greatest index <= `index` whose term is <= `term`, and that term: where a leader whose
   * log has `term` at `index` can probe next (the fast backtracking of the Raft thesis).
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let i = index; ; i--) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
    }
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries;
  }

  /** Committed entries not yet applied. */
  nextCommittedEntries(maxBytes = NO_LIMIT): Entry[] {
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed + 1 <= lo) return [];
    return this.slice(lo, this.committed + 1, maxBytes);
  }

  hasNextCommittedEntries(): boolean {
    return this.committed + 1 > Math.max(this.applied + 1, this.firstIndex());
  }

  /** The snapshot to send to a follower that needs compacted entries (unstable one first). */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  commitTo(toCommit: number): void {
    if (this.committed >= toCommit) return; // never decrease
    invariant(toCommit <= this.lastIndex(), () => `tocommit(${toCommit}) is out of range [lastIndex(${this.lastIndex()})]. Was the raft log corrupted, truncated, or lost?`);
    this.committed = toCommit;
  }

  appliedTo(i: number): void {
    if (i === 0) return;
    invariant(this.committed >= i && i >= this.applied, () => `applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`);
    this.applied = i;
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  /** Whether a candidate whose log ends at (lastIndex, term) is at least as up to date as ours. */
  isUpToDate(lastIndex: number, term: number): boolean {
    return term > this.lastTerm() || (term === this.lastTerm() && lastIndex >= this.lastIndex());
  }

  /** Commits up to maxIndex if that entry is of the current term (Raft §5.4.2). */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.term(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /** Entries [lo, hi) from storage and the unstable tail; throws LogCompactedError below the first index. */
  slice(lo: number, hi: number, maxBytes = NO_LIMIT): Entry[] {
    if (lo === hi) return [];
    invariant(lo < hi && hi <= this.lastIndex() + 1, () => `slice[${lo},${hi}) out of bound [${this.firstIndex()},${this.lastIndex()}]`);
    if (lo < this.firstIndex()) throw new LogCompactedError();
    let ents: Entry[] = [];
    if (lo < this.unstable.offset) {
      ents = this.storage.entries(lo, Math.min(hi, this.unstable.offset), maxBytes);
      // Storage returned fewer than asked: the size limit cut it.
      if (ents.length < Math.min(hi, this.unstable.offset) - lo) return ents;
    }
    if (hi > this.unstable.offset) {
      ents = ents.concat(this.unstable.slice(Math.max(lo, this.unstable.offset), hi));
    }
    return limitSize(ents, maxBytes);
  }

  /** Entries from `i` to the end, size-limited; throws LogCompactedError when compacted. */
  entriesFrom(i: number, maxBytes: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxBytes);
  }
}
