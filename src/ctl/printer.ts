import type { AlarmResponse__Output } from '../generated/etcdserverpb/AlarmResponse';
import type { DeleteRangeResponse__Output } from '../generated/etcdserverpb/DeleteRangeResponse';
import type { HashKVResponse__Output } from '../generated/etcdserverpb/HashKVResponse';
import type { LeaseGrantResponse__Output } from '../generated/etcdserverpb/LeaseGrantResponse';
import type { LeaseKeepAliveResponse__Output } from '../generated/etcdserverpb/LeaseKeepAliveResponse';
import type { LeaseLeasesResponse__Output } from '../generated/etcdserverpb/LeaseLeasesResponse';
import type { LeaseRevokeResponse__Output } from '../generated/etcdserverpb/LeaseRevokeResponse';
import type { LeaseTimeToLiveResponse__Output } from '../generated/etcdserverpb/LeaseTimeToLiveResponse';
import type { MemberAddResponse__Output } from '../generated/etcdserverpb/MemberAddResponse';
import type { MemberListResponse__Output } from '../generated/etcdserverpb/MemberListResponse';
import type { MemberPromoteResponse__Output } from '../generated/etcdserverpb/MemberPromoteResponse';
import type { MemberRemoveResponse__Output } from '../generated/etcdserverpb/MemberRemoveResponse';
import type { MemberUpdateResponse__Output } from '../generated/etcdserverpb/MemberUpdateResponse';
import type { MoveLeaderResponse__Output } from '../generated/etcdserverpb/MoveLeaderResponse';
import type { PutResponse__Output } from '../generated/etcdserverpb/PutResponse';
import type { RangeResponse__Output } from '../generated/etcdserverpb/RangeResponse';
import type { StatusResponse__Output } from '../generated/etcdserverpb/StatusResponse';
import type { TxnResponse__Output } from '../generated/etcdserverpb/TxnResponse';
import type { WatchResponse__Output } from '../generated/etcdserverpb/WatchResponse';
import { CtlError, ExitCode } from './exit';

/** `endpoint health` of one endpoint; `took` is a Go duration string such as "1.4ms". */
export interface EpHealth {
  ep: string;
  health: boolean;
  took: string;
  error: string;
}

export interface EpStatus {
  ep: string;
  resp: StatusResponse__Output;
}

export interface EpHashKV {
  ep: string;
  resp: HashKVResponse__Output;
}

/**
 * What etcdctl can print, one method per kind of answer (etcdctl/ctlv3/command/printer.go). IDs are
 * decimal uint64 strings as they come off the wire. A format that cannot show an answer throws
 * etcdctl's "<format> not supported as output format" (exit 4), after the request has run, as
 * etcdctl does.
 */
export interface Printer {
  get(r: RangeResponse__Output): void;
  put(r: PutResponse__Output): void;
  del(r: DeleteRangeResponse__Output): void;
  txn(r: TxnResponse__Output): void;
  watch(r: WatchResponse__Output): void;

  grant(r: LeaseGrantResponse__Output): void;
  revoke(id: string, r: LeaseRevokeResponse__Output): void;
  keepAlive(r: LeaseKeepAliveResponse__Output): void;
  timeToLive(r: LeaseTimeToLiveResponse__Output, keys: boolean): void;
  leases(r: LeaseLeasesResponse__Output): void;

  memberAdd(r: MemberAddResponse__Output): void;
  memberRemove(id: string, r: MemberRemoveResponse__Output): void;
  memberUpdate(id: string, r: MemberUpdateResponse__Output): void;
  memberPromote(id: string, r: MemberPromoteResponse__Output): void;
  memberList(r: MemberListResponse__Output): void;

  endpointHealth(list: EpHealth[]): void;
  endpointStatus(list: EpStatus[]): void;
  endpointHashKV(list: EpHashKV[]): void;
  moveLeader(leader: string, target: string, r: MoveLeaderResponse__Output): void;
  alarm(r: AlarmResponse__Output): void;
}

export type OutputFormat = 'simple' | 'json' | 'fields' | 'table';

/** The refusal of a format for an answer it has no layout for. */
export function unsupported(format: OutputFormat): never {
  throw new CtlError(ExitCode.BadFeature, `${format} not supported as output format`);
}
