import { NodeId } from '../raft/types';
import { ServerError } from './errors';
import { Member, memberIdOf, urlProblem } from './membership';
import { MemberChange } from './member-change';
import { MembershipState } from './membership-state';

/** What the cluster service's requests need of the member. */
export interface MemberAdminDeps {
  memberId: bigint;
  membership: MembershipState;
  /** Whether the learner has caught up, asked of the leader (see RaftNode.learnerReady). */
  learnerReady(learner: NodeId): Promise<boolean>;
  /** Voters the leader has heard from recently, itself included (asked of it by a follower). */
  activeVoters(): Promise<Set<NodeId>>;
  /** Proposes the change through Raft and resolves once it is applied here. */
  propose(change: MemberChange): Promise<void>;
}

/**
 * MemberAdd, MemberRemove, MemberUpdate and MemberPromote: etcd's checks before a change is
 * proposed (--strict-reconfig-check, on by default in etcd), then the change through Raft.
 */
export class MemberAdmin {
  constructor(private readonly d: MemberAdminDeps) {}

  async add(given: string[], isLearner: boolean, now: Date): Promise<Member> {
    const peerURLs = parseUrls(given);
    const { membership } = this.d;
    // etcd's mayAddMember first,
    if (!isLearner && !this.readyToAddVoter()) throw new ServerError('not-enough-started-members');
    await this.checkEveryVoterActive();
    // As etcd's NewMember: the ID hashes the peer URLs with the time, so re-adding a URL gives a new ID.
    const member: Member = {
      id: memberIdOf(peerURLs, String(Math.floor(now.getTime() / 1000))), name: '', peerURLs, clientURLs: [], isLearner,
    };
    // then what its ValidateConfigurationChange finds, in its order: the same URLs added again
    // within the second (ErrIDExists), then a learner too many (checked again at apply).
    if (membership.member(member.id) !== undefined) throw new ServerError('member-exists');
    if (isLearner && membership.learnersFull()) throw new ServerError('too-many-learners');
    await this.d.propose({ type: 'add', member });
    return member;
  }

  async remove(id: bigint): Promise<void> {
    const member = this.existing(id);
    if (!member.isLearner) await this.checkRemovable(id);
    await this.d.propose({ type: 'remove', member });
  }

  async update(id: bigint, given: string[]): Promise<void> {
    const peerURLs = parseUrls(given);
    const member = this.existing(id);
    await this.d.propose({ type: 'update', member: { ...member, peerURLs } });
  }

  async promote(id: bigint): Promise<void> {
    const member = this.existing(id);
    if (!member.isLearner) throw new ServerError('member-not-learner');
    if (!this.readyToPromote()) throw new ServerError('not-enough-started-members');
    if (!(await this.d.learnerReady(id))) throw new ServerError('learner-not-ready');
    await this.d.propose({ type: 'promote', member: { ...member, isLearner: false } });
  }

  private existing(id: bigint): Member {
    const member = this.d.membership.member(id);
    if (member === undefined) throw new ServerError('member-not-found');
    return member;
  }

  private voterCount(): number {
    return this.d.membership.list().filter((m) => !m.isLearner).length;
  }

  /** A member is started once it has published its name through the log. */
  private startedVoters(except?: bigint): { members: number; started: number } {
    const voters = this.d.membership.list().filter((m) => !m.isLearner && m.id !== except);
    return { members: voters.length, started: voters.filter((m) => m.name !== '').length };
  }

  /** Adding a voter must leave a quorum of started members (the new one is not started yet). */
  private readyToAddVoter(): boolean {
    const { members, started } = this.startedVoters();
    if (started === 1 && members === 1) return true; // growing a one-member cluster
    return started >= quorum(members + 1);
  }

  private readyToPromote(): boolean {
    // The learner counts toward the future quorum, and as started.
    const { members, started } = this.startedVoters();
    return started + 1 >= quorum(members + 1);
  }

  /**
   * etcd's mayAddMember (3.4, and 3.5 up to 3.5.29: isConnectedFullySince): every voter must be
   * in touch. (3.5.30+ relaxes it to a quorum counting the new member as down.) etcd asks its own
   * transport; here the leader, the one member that hears from every voter, says.
   */
  private async checkEveryVoterActive(): Promise<void> {
    const active = await this.d.activeVoters();
    if (active.size < this.voterCount()) throw new ServerError('unhealthy');
  }

  /** etcd's mayRemoveMember: keep a quorum of started members, and of active ones as the leader sees them. */
  private async checkRemovable(id: bigint): Promise<void> {
    const { members, started } = this.startedVoters(id);
    if (started < quorum(members)) throw new ServerError('not-enough-started-members');
    const active = await this.d.activeVoters();
    // A member that is down is always safe to remove.
    if (id !== this.d.memberId && !active.has(id)) return;
    if (active.size - 1 < quorum(this.voterCount() - 1)) throw new ServerError('unhealthy');
  }
}

function quorum(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** The URLs trimmed and sorted, as etcd's NewURLs gives them back, or 'bad-member-urls'. */
function parseUrls(given: string[]): string[] {
  if (given.length === 0) throw new ServerError('bad-member-urls');
  const urls = given.map((u) => u.trim());
  if (urls.some((url) => urlProblem(url) !== undefined)) throw new ServerError('bad-member-urls');
  return urls.sort();
}
