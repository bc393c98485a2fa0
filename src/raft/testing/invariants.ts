import { Raft } from '../raft';
import { NodeId } from '../types';
import { AppliedEntry } from './sim-node';

export class InvariantViolation extends Error {
  override name = 'InvariantViolation';
}

/**
 * Raft's safety properties (Raft paper, figure 3), checked over the whole history of a run:
 * election safety, log matching, leader completeness, state-machine safety, and commit/applied
 * indexes that never go back within one life of a node.
 */
export class InvariantChecker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** Term of every entry ever known committed, by index. */
  private readonly committedTerm = new Map<number, number>();
  /** Every entry ever applied anywhere, by index. */
  private readonly appliedEntry = new Map<number, string>();
  private readonly lastCommit = new Map<NodeId, number>();
  private readonly lastApplied = new Map<NodeId, number>();

  /** A node restarted: its indexes start over from what it had persisted. */
  restarted(id: NodeId): void {
    this.lastCommit.delete(id);
    this.lastApplied.delete(id);
  }

  applied(id: NodeId, e: AppliedEntry): void {
    const key = `${e.term}:${e.data}`;
    const seen = this.appliedEntry.get(e.index);
    if (seen !== undefined && seen !== key) {
      throw new InvariantViolation(`state machine safety: node ${id} applied ${key} at ${e.index}, another applied ${seen}`);
    }
    this.appliedEntry.set(e.index, key);
    const last = this.lastApplied.get(id) ?? 0;
    if (e.index <= last) throw new InvariantViolation(`node ${id} applied ${e.index} after ${last}`);
    this.lastApplied.set(id, e.index);
  }

  check(nodes: Raft[]): void {
    for (const r of nodes) {
      this.checkElectionSafety(r);
      this.checkCommit(r);
    }
    for (const r of nodes) if (r.state === 'leader') this.checkLeaderCompleteness(r);
    for (let i = 0; i < nodes.length; i++) {
      for (let j = i + 1; j < nodes.length; j++) checkLogMatching(nodes[i]!, nodes[j]!);
    }
  }

  private checkElectionSafety(r: Raft): void {
    if (r.state !== 'leader') return;
    const known = this.leaderOfTerm.get(r.term);
    if (known !== undefined && known !== r.id) {
      throw new InvariantViolation(`election safety: nodes ${known} and ${r.id} both led term ${r.term}`);
    }
    this.leaderOfTerm.set(r.term, r.id);
  }

  private checkCommit(r: Raft): void {
    const commit = r.log.committed;
    const prev = this.lastCommit.get(r.id) ?? r.log.firstIndex() - 1;
    if (commit < prev) throw new InvariantViolation(`node ${r.id} commit went back from ${prev} to ${commit}`);
    for (let i = Math.max(prev + 1, r.log.firstIndex()); i <= commit; i++) {
      const t = r.log.term(i)!;
      const known = this.committedTerm.get(i);
      if (known !== undefined && known !== t) {
        throw new InvariantViolation(`node ${r.id} committed term ${t} at ${i}, where term ${known} was committed`);
      }
      this.committedTerm.set(i, t);
    }
    this.lastCommit.set(r.id, commit);
  }

  private checkLeaderCompleteness(r: Raft): void {
    for (const [i, t] of this.committedTerm) {
      if (i < r.log.firstIndex() || t > r.term) continue;
      if (r.log.term(i) !== t) {
        throw new InvariantViolation(`leader completeness: leader ${r.id} of term ${r.term} lacks committed entry ${i} (term ${t})`);
      }
    }
  }
}

/** If two logs hold an entry with the same index and term, they are identical up to it. */
function checkLogMatching(a: Raft, b: Raft): void {
  const lo = Math.max(a.log.firstIndex(), b.log.firstIndex());
  const hi = Math.min(a.log.lastIndex(), b.log.lastIndex());
  let matched = false;
  for (let i = hi; i >= lo; i--) {
    const same = a.log.term(i) === b.log.term(i);
    if (matched && !same) {
      throw new InvariantViolation(`log matching: nodes ${a.id} and ${b.id} agree at a later index but differ at ${i}`);
    }
    if (same) matched = true;
  }
}
