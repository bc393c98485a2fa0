import { NodeId } from './types';

/**
 * The largest index a majority of voters has acknowledged, given each voter's match index; sorts
 * `matched` in place. A leader asks on every append and acknowledgement, so this sorts by hand:
 * Array.prototype.sort copied the few numbers into a new array each time.
 */
export function committedIndex(matched: number[]): number {
  if (matched.length === 0) return Number.MAX_SAFE_INTEGER; // no voters: nothing to wait for
  for (let i = 1; i < matched.length; i++) {
    const m = matched[i]!;
    let j = i - 1;
    for (; j >= 0 && matched[j]! > m; j--) matched[j + 1] = matched[j]!;
    matched[j + 1] = m;
  }
  return matched[matched.length - (Math.floor(matched.length / 2) + 1)]!;
}

export type VoteResult = 'won' | 'lost' | 'pending';

export function voteResult(voters: NodeId[], votes: Map<NodeId, boolean>): VoteResult {
  if (voters.length === 0) return 'won';
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = Math.floor(voters.length / 2) + 1;
  if (granted >= q) return 'won';
  if (granted + missing >= q) return 'pending';
  return 'lost';
}
