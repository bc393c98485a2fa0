import type { ClusterHandlers } from '../generated/etcdserverpb/Cluster';
import type { MemberListResponse } from '../generated/etcdserverpb/MemberListResponse';
import { KeelServer } from '../server/keel-server';
import { Logger } from '../util/logger';
import { unary, withMemberHeader } from './handler';

/** etcdserverpb.Cluster: MemberList now; membership changes come with the operations issue. */
export function clusterService(server: KeelServer, log: Logger): Partial<ClusterHandlers> {
  return {
    MemberList: unary(log, async () => withMemberHeader<MemberListResponse>(server, {
      members: server.members().map((m) => ({
        ID: m.id.toString(), name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs, isLearner: m.isLearner,
      })),
    })),
  };
}
