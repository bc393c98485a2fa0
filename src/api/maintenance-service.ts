import type { MaintenanceHandlers } from '../generated/etcdserverpb/Maintenance';
import type { StatusResponse } from '../generated/etcdserverpb/StatusResponse';
import type { MoveLeaderRequest__Output } from '../generated/etcdserverpb/MoveLeaderRequest';
import type { MoveLeaderResponse } from '../generated/etcdserverpb/MoveLeaderResponse';
import { KeelServer } from '../server/keel-server';
import { ETCD_VERSION } from '../server/version';
import { Logger } from '../util/logger';
import { unary, withHeader } from './handler';

/** etcdserverpb.Maintenance: Status, MoveLeader and Alarm (list) now; the operations issue brings the rest. */
export function maintenanceService(server: KeelServer, log: Logger): Partial<MaintenanceHandlers> {
  return {
    Status: unary(log, async () => {
      const s = await server.status();
      return withHeader<StatusResponse>(server, {
        version: ETCD_VERSION,
        dbSize: s.dbSize,
        leader: s.leader.toString(),
        raftIndex: s.raftIndex,
        raftTerm: s.raftTerm,
        raftAppliedIndex: s.raftAppliedIndex,
        errors: [],
        dbSizeInUse: s.dbSize,
        isLearner: server.isLearner(),
      });
    }),
    MoveLeader: unary(log, async (req: MoveLeaderRequest__Output) => {
      await server.moveLeader(BigInt(req.targetID));
      return withHeader<MoveLeaderResponse>(server, {});
    }),
    // No alarm can be raised yet (NOSPACE comes with --quota-backend-bytes), so every action
    // answers an empty list, as etcd does with no alarm active; etcd sends no header here.
    Alarm: unary(log, async () => ({ alarms: [] })),
  };
}
