import type { ConfState } from '../raft/types';
import { Engine, EngineOp } from '../storage/engine';
import { metaKey } from '../storage/keyspace';
import { ServerError } from './errors';
import { Member, sameUrls } from './membership';
import { MemberChange } from './member-change';

/** etcd's default --max-learners. */
const MAX_LEARNERS = 1;

interface StoredMember {
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

interface Stored {
  members: StoredMember[];
  removed: string[];
}

/**
 * The cluster's members as the replicated log says they are: changed only by apply, persisted
 * in the same batch as the rest of an applied entry, so every member agrees on them. Raft's
 * configuration is derived from it (voters and learners), so the two never disagree.
 * Removed IDs are remembered for good, as etcd does: a removed member may never come back.
 */
export class MembershipState {
  private readonly removed: Set<bigint>;

  constructor(private members: Member[], private version: string | undefined, removed: bigint[] = []) {
    this.removed = new Set(removed);
  }

  /** The membership the engine holds; undefined in a data dir never started. */
  static async load(engine: Engine): Promise<MembershipState | undefined> {
    const stored = await engine.get(metaKey('members'));
    return stored === undefined ? undefined : MembershipState.decode(stored, await engine.get(metaKey('cluster-version')));
  }

  private static decode(stored: Buffer, version: Buffer | undefined): MembershipState {
    const s = JSON.parse(stored.toString('utf8')) as Stored;
    return new MembershipState(
      s.members.map((m) => ({ ...m, id: BigInt(`0x${m.id}`) })),
      version?.toString(),
      s.removed.map((id) => BigInt(`0x${id}`)),
    );
  }

  /** Takes the state a snapshot brought (see state-snapshot.ts, which carries these records). */
  replaceWith(other: MembershipState): void {
    this.members = other.members;
    this.version = other.version;
    this.removed.clear();
    for (const id of other.removed) this.removed.add(id);
  }

  list(): Member[] {
    return this.members;
  }

  /** As etcd: at most --max-learners learners (its default, 1). */
  learnersFull(): boolean {
    return this.members.filter((m) => m.isLearner).length >= MAX_LEARNERS;
  }

  member(id: bigint): Member | undefined {
    return this.members.find((m) => m.id === id);
  }

  isRemoved(id: bigint): boolean {
    return this.removed.has(id);
  }

  confState(): ConfState {
    return {
      voters: this.members.filter((m) => !m.isLearner).map((m) => m.id),
      learners: this.members.filter((m) => m.isLearner).map((m) => m.id),
    };
  }

  clusterVersion(): string | undefined {
    return this.version;
  }

  /**
   * Checks a committed change against the membership before it takes effect, as etcd's
   * ValidateConfigurationChange: every member runs the same check on the same state, so a
   * change refused here is refused everywhere and Raft's configuration is left alone.
   */
  validate(change: MemberChange): void {
    const { type, member } = change;
    if (this.removed.has(member.id)) throw new ServerError('member-id-removed');
    const existing = this.member(member.id);
    const urlsTaken = () => this.members.some((m) => m.id !== member.id && m.peerURLs.some((u) => member.peerURLs.includes(u)));
    switch (type) {
      case 'add':
        // Only the bootstrap entries' re-add of a member as it is listed passes with its ID in use:
        // an add as a voter of a listed learner (two adds of one URL in one second share the ID)
        // would make Raft count a voter the membership calls a learner.
        if (existing !== undefined && (!sameUrls(existing.peerURLs, member.peerURLs) || existing.isLearner !== member.isLearner)) {
          throw new ServerError('member-exists');
        }
        if (urlsTaken()) throw new ServerError('peer-url-exists');
        // Counted here too, since a proposer may not have applied the last add.
        if (existing === undefined && member.isLearner && this.learnersFull()) throw new ServerError('too-many-learners');
        return;
      case 'promote':
        if (existing === undefined) throw new ServerError('member-not-found');
        if (!existing.isLearner) throw new ServerError('member-not-learner');
        return;
      case 'remove':
        if (existing === undefined) throw new ServerError('member-not-found');
        return;
      case 'update':
        if (existing === undefined) throw new ServerError('member-not-found');
        if (urlsTaken()) throw new ServerError('peer-url-exists');
    }
  }

  /** Applies a validated change; `batch` gets the new record. */
  apply(change: MemberChange, batch: EngineOp[]): void {
    const { type, member } = change;
    switch (type) {
      case 'add':
        // The bootstrap entries re-add the initial members, which a new cluster already lists.
        if (this.member(member.id) === undefined) this.members = [...this.members, { ...member, clientURLs: [...member.clientURLs] }];
        break;
      case 'promote':
        this.member(member.id)!.isLearner = false;
        break;
      case 'remove':
        this.members = this.members.filter((m) => m.id !== member.id);
        this.removed.add(member.id);
        break;
      case 'update':
        this.member(member.id)!.peerURLs = member.peerURLs;
    }
    batch.push(this.membersOp());
  }

  /** Records a member's published name and client URLs; unknown members (removed since) are ignored. */
  setAttributes(id: bigint, name: string, clientURLs: string[], batch: EngineOp[]): void {
    const m = this.member(id);
    if (m === undefined) return;
    m.name = name;
    m.clientURLs = clientURLs;
    batch.push(this.membersOp());
  }

  setClusterVersion(version: string, batch: EngineOp[]): void {
    this.version = version;
    batch.push({ type: 'put', key: metaKey('cluster-version'), value: Buffer.from(version) });
  }

  membersOp(): EngineOp {
    const stored: Stored = {
      members: this.members.map((m) => ({ ...m, id: m.id.toString(16) })),
      removed: [...this.removed].map((id) => id.toString(16)),
    };
    return { type: 'put', key: metaKey('members'), value: Buffer.from(JSON.stringify(stored)) };
  }
}
