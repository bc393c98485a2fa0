import { EngineOp } from '../storage/engine';
import { metaKey } from '../storage/keyspace';
import { Member } from './membership';

interface StoredMember {
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

/**
 * The cluster's members as the replicated log says they are: changed only by apply, persisted
 * in the same batch as the rest of an applied entry, so every member agrees on them.
 */
export class MembershipState {
  constructor(private members: Member[], private version: string | undefined) {}

  static decode(members: Buffer, version: Buffer | undefined): MembershipState {
    const list = JSON.parse(members.toString('utf8')) as StoredMember[];
    return new MembershipState(list.map((m) => ({ ...m, id: BigInt(`0x${m.id}`) })), version?.toString());
  }

  list(): Member[] {
    return this.members;
  }

  clusterVersion(): string | undefined {
    return this.version;
  }

  /** Records a member's published name and client URLs; unknown members (removed since) are ignored. */
  setAttributes(id: bigint, name: string, clientURLs: string[], batch: EngineOp[]): void {
    const m = this.members.find((x) => x.id === id);
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
    const stored: StoredMember[] = this.members.map((m) => ({ ...m, id: m.id.toString(16) }));
    return { type: 'put', key: metaKey('members'), value: Buffer.from(JSON.stringify(stored)) };
  }
}
