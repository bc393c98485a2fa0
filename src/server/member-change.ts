import { ConfChange } from '../raft/conf-change';
import { Member } from './membership';

/** A membership change as the cluster service asks for it. */
export interface MemberChange {
  type: 'add' | 'promote' | 'remove' | 'update';
  /** The member as it will be (for remove and promote only the ID counts). */
  member: Member;
}

interface Context {
  requestId: string;
  type: MemberChange['type'];
  member: { id: string; name: string; peerURLs: string[]; clientURLs: string[]; isLearner: boolean };
}

/**
 * The Raft conf change carrying a member change: Raft reads the type and node ID, the member
 * record and the proposer's request ID (to wake its waiter) travel in the context, as in etcd.
 */
export function toConfChange(requestId: string, change: MemberChange): ConfChange {
  const { type, member } = change;
  const ctx: Context = { requestId, type, member: { ...member, id: member.id.toString(16) } };
  return {
    type: type === 'remove' ? 'remove-node' : type === 'update' ? 'update-node'
      : type === 'add' && member.isLearner ? 'add-learner-node' : 'add-node',
    nodeId: member.id,
    context: Buffer.from(JSON.stringify(ctx)),
  };
}

export function fromConfChange(cc: ConfChange): { requestId: string; change: MemberChange } {
  const ctx = JSON.parse(Buffer.from(cc.context).toString('utf8')) as Context;
  return { requestId: ctx.requestId, change: { type: ctx.type, member: { ...ctx.member, id: BigInt(`0x${ctx.member.id}`) } } };
}
