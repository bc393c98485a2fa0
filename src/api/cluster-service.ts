import type { ClusterHandlers } from '../generated/etcdserverpb/Cluster';
import type { Member as WireMember } from '../generated/etcdserverpb/Member';
import type { MemberAddRequest__Output } from '../generated/etcdserverpb/MemberAddRequest';
import type { MemberAddResponse } from '../generated/etcdserverpb/MemberAddResponse';
import type { MemberListResponse } from '../generated/etcdserverpb/MemberListResponse';
import type { MemberPromoteRequest__Output } from '../generated/etcdserverpb/MemberPromoteRequest';
import type { MemberPromoteResponse } from '../generated/etcdserverpb/MemberPromoteResponse';
import type { MemberRemoveRequest__Output } from '../generated/etcdserverpb/MemberRemoveRequest';
import type { MemberRemoveResponse } from '../generated/etcdserverpb/MemberRemoveResponse';
import type { MemberUpdateRequest__Output } from '../generated/etcdserverpb/MemberUpdateRequest';
import type { MemberUpdateResponse } from '../generated/etcdserverpb/MemberUpdateResponse';
import { KeelServer } from '../server/keel-server';
import { Member } from '../server/membership';
import { Logger } from '../util/logger';
import { votersOnly, withMemberHeader } from './handler';

/** etcdserverpb.Cluster: every call answers with the membership as it is after the change. */
export function clusterService(server: KeelServer, log: Logger): ClusterHandlers {
  // etcd lists members in ID order.
  const members = () => [...server.members()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(toWire);
  // A learner serves none of the Cluster service.
  const voting = votersOnly(server, log);
  return {
    MemberList: voting(async () => withMemberHeader<MemberListResponse>(server, { members: members() })),
    MemberAdd: voting(async (req: MemberAddRequest__Output) => {
      const added = await server.memberAdmin.add(req.peerURLs, req.isLearner, new Date());
      return withMemberHeader<MemberAddResponse>(server, { member: toWire(added), members: members() });
    }),
    MemberRemove: voting(async (req: MemberRemoveRequest__Output) => {
      await server.memberAdmin.remove(BigInt(req.ID));
      return withMemberHeader<MemberRemoveResponse>(server, { members: members() });
    }),
    MemberUpdate: voting(async (req: MemberUpdateRequest__Output) => {
      await server.memberAdmin.update(BigInt(req.ID), req.peerURLs);
      return withMemberHeader<MemberUpdateResponse>(server, { members: members() });
    }),
    MemberPromote: voting(async (req: MemberPromoteRequest__Output) => {
      await server.memberAdmin.promote(BigInt(req.ID));
      return withMemberHeader<MemberPromoteResponse>(server, { members: members() });
    }),
  };
}

function toWire(m: Member): WireMember {
  return { ID: m.id.toString(), name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, isLearner: m.isLearner };
}
