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
 * The history of one key, as etcd's keyIndex: a list of generations, the last of which is open
 * (possibly empty, right after a delete). Reads at a revision find the generation alive then.
 */
export class KeyIndex {
  private generations: Generation[] = [{ created: { main: 0, sub: 0 }, version: 0, revs: [] }];

  constructor(readonly key: string) {}

  /** A key's history as saved earlier (index-checkpoint.ts), lives oldest first. */
  static fromLives(key: string, lives: Generation[]): KeyIndex {
    const ki = new KeyIndex(key);
    ki.generations = lives;
    return ki;
  }

  /** Its lives, oldest first, the last one open: to save, not to change. */
  get lives(): readonly Generation[] {
    return this.generations;
  }

  put(rev: Revision): void {
    const current = this.openGeneration();
    const last = current.revs[current.revs.length - 1];
    invariant(last === undefined || compareRevisions(rev, last) > 0,
      () => `put of ${this.key} at ${revisionId(rev)} is not after ${revisionId(last!)}`);
    if (current.revs.length === 0) current.created = rev;
    current.revs.push(rev);
    current.version++;
  }

  /**
   * Replays a put record at start. After compaction the first surviving record of a life may not
   * be its creating put, so creation and version come from the record itself.
   */
  restorePut(rev: Revision, createdMain: number, version: number): void {
    const current = this.openGeneration();
    const fresh = current.revs.length === 0;
    this.put(rev);
    if (fresh) {
      current.created = { main: createdMain, sub: 0 };
      current.version = version;
    }
  }

  /** Records a delete: the tombstone closes the open generation and a new empty one begins. */
  tombstone(rev: Revision): void {
    const current = this.openGeneration();
    invariant(current.revs.length > 0, `tombstone of ${this.key}, which is not alive`);
    current.revs.push(rev);
    current.version++;
    this.generations.push({ created: { main: 0, sub: 0 }, version: 0, revs: [] });
  }

  /** Whether the key exists at the head of history. */
  isAlive(): boolean {
    return this.openGeneration().revs.length > 0;
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
    let genIdx = 0;
    // Skip whole generations that ended (their tombstone) at or before atRev.
    while (genIdx < this.generations.length - 1) {
      const g = this.generations[genIdx]!;
      const tomb = g.revs[g.revs.length - 1]!;
      if (tomb.main > atRev) break;
      // A delete exactly at atRev must stay readable by a watch that starts at atRev.
      if (tomb.main === atRev) keep.add(revisionId(tomb));
      genIdx++;
    }
    const g = this.generations[genIdx]!;
    let firstKept = -1;
    for (let n = g.revs.length - 1; n >= 0; n--) {
      if (g.revs[n]!.main <= atRev) {
        firstKept = n;
        break;
      }
    }
    if (firstKept > 0) g.revs = g.revs.slice(firstKept);
    if (firstKept >= 0) keep.add(revisionId(g.revs[0]!));
    this.generations = this.generations.slice(genIdx);
    return this.generations.length === 1 && this.generations[0]!.revs.length === 0;
  }

  private openGeneration(): Generation {
    return this.generations[this.generations.length - 1]!;
  }

  private generationAt(atRev: number): Generation | undefined {
    const last = this.generations.length - 1;
    for (let i = last; i >= 0; i--) {
      const g = this.generations[i]!;
      if (g.revs.length === 0) continue;
      if (i !== last && g.revs[g.revs.length - 1]!.main <= atRev) return undefined; // deleted by then
      if (g.revs[0]!.main <= atRev) return g;
    }
    return undefined;
  }
}
