import { invariant } from '../util/invariant';
import { compareRevisions, Revision, revisionId } from './revision';

/**
 * One life of a key: from its creating put to its deletion. `revs` holds the surviving revisions
 * (compaction trims the front); the last one of a closed generation is the tombstone.
 */
export interface Generation {
  created: Revision;
  /**
   * Revisions in this life, including those compaction removed and the closing tombstone, so that
   * the version at revs[n] is version - (revs.length - 1 - n).
   */
  version: number;
  revs: Revision[];
}

/** What a key looked like at some revision. */
export interface KeyAtRevision {
  modified: Revision;
  created: Revision;
  version: number;
}

/**
 * The history of one key, as etcd's keyIndex: its lives in order, the last of which is open
 * (possibly empty, right after a delete). Reads at a revision find the life alive then.
 *
 * The open life and the closed ones are held apart, and the closed ones only once there are any:
 * a member holds one of these per key, most keys never die, and a list of one life cost each key
 * its own array (a member's start or catch-up rebuilds a million of them).
 */
export class KeyIndex {
  private open: Generation = emptyGeneration();
  /** Lives a delete ended, oldest first; undefined while there are none. */
  private closed: Generation[] | undefined;

  constructor(readonly key: string) {}

  /** A key's history as saved earlier (index-checkpoint.ts), lives oldest first. */
  static fromLives(key: string, lives: Generation[]): KeyIndex {
    const ki = new KeyIndex(key);
    ki.open = lives[lives.length - 1]!;
    if (lives.length > 1) ki.closed = lives.slice(0, -1);
    return ki;
  }

  /** Its lives, oldest first, the last one open: to save, not to change. */
  get lives(): readonly Generation[] {
    return this.closed === undefined ? [this.open] : [...this.closed, this.open];
  }

  put(rev: Revision): void {
    const current = this.open;
    const last = current.revs[current.revs.length - 1];
    invariant(last === undefined || compareRevisions(rev, last) > 0,
      () => `put of ${this.key} at ${revisionId(rev)} is not after ${revisionId(last!)}`);
    if (current.revs.length === 0) {
      current.created = rev;
      // A fresh array rather than a push: a push into an empty array reserves room for 17
      // revisions, and most keys only ever have one.
      current.revs = [rev];
    } else {
      current.revs.push(rev);
    }
    current.version++;
  }

  /**
   * Replays a put record at start. After compaction the first surviving record of a life may not
   * be its creating put, so creation and version come from the record itself.
   */
  restorePut(rev: Revision, createdMain: number, version: number): void {
    const current = this.open;
    const fresh = current.revs.length === 0;
    this.put(rev);
    if (fresh) {
      // Mostly the record is the creating put, whose revision put() took as the creation already.
      if (createdMain !== rev.main) current.created = { main: createdMain, sub: 0 };
      current.version = version;
    }
  }

  /** Records a delete: the tombstone closes the open life and a new empty one begins. */
  tombstone(rev: Revision): void {
    const current = this.open;
    invariant(current.revs.length > 0, `tombstone of ${this.key}, which is not alive`);
    current.revs.push(rev);
    current.version++;
    (this.closed ??= []).push(current);
    this.open = emptyGeneration();
  }

  /** Whether the key exists at the head of history. */
  isAlive(): boolean {
    return this.open.revs.length > 0;
  }

  /** The key as of `atRev`, or undefined if it did not exist then. */
  get(atRev: number): KeyAtRevision | undefined {
    const g = this.generationAt(atRev);
    if (g === undefined) return undefined;
    for (let n = g.revs.length - 1; n >= 0; n--) {
      const rev = g.revs[n]!;
      if (rev.main <= atRev) {
        return { modified: rev, created: g.created, version: g.version - (g.revs.length - 1 - n) };
      }
    }
    return undefined;
  }

  /**
   * Drops history that no read at `atRev` or later can need. Adds to `keep` the revision each read
   * at `atRev` resolves to, so physical compaction leaves its record. Returns true when nothing is left.
   */
  compact(atRev: number, keep: Set<string>): boolean {
    const closed = this.closed ?? [];
    let ended = 0;
    // Skip whole lives that ended (their tombstone) at or before atRev.
    while (ended < closed.length) {
      const g = closed[ended]!;
      const tomb = g.revs[g.revs.length - 1]!;
      if (tomb.main > atRev) break;
      // A delete exactly at atRev must stay readable by a watch that starts at atRev.
      if (tomb.main === atRev) keep.add(revisionId(tomb));
      ended++;
    }
    const g = closed[ended] ?? this.open;
    let firstKept = -1;
    for (let n = g.revs.length - 1; n >= 0; n--) {
      if (g.revs[n]!.main <= atRev) {
        firstKept = n;
        break;
      }
    }
    if (firstKept > 0) g.revs = g.revs.slice(firstKept);
    if (firstKept >= 0) keep.add(revisionId(g.revs[0]!));
    if (ended > 0) this.closed = ended < closed.length ? closed.slice(ended) : undefined;
    return this.closed === undefined && this.open.revs.length === 0;
  }

  /** The life alive at `atRev`, if the key was alive then. */
  private generationAt(atRev: number): Generation | undefined {
    if (this.open.revs.length > 0 && this.open.revs[0]!.main <= atRev) return this.open;
    const closed = this.closed ?? [];
    for (let i = closed.length - 1; i >= 0; i--) {
      const g = closed[i]!;
      if (g.revs[g.revs.length - 1]!.main <= atRev) return undefined; // deleted by then
      if (g.revs[0]!.main <= atRev) return g;
    }
    return undefined;
  }
}

/** Where an empty life says it began: shared, as nothing changes a revision in place. */
const NO_REVISION: Revision = Object.freeze({ main: 0, sub: 0 });

function emptyGeneration(): Generation {
  return { created: NO_REVISION, version: 0, revs: [] };
}
