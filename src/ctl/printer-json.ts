import type { AlarmResponse__Output } from '../generated/etcdserverpb/AlarmResponse';
import type { DeleteRangeResponse__Output } from '../generated/etcdserverpb/DeleteRangeResponse';
import type { LeaseGrantResponse__Output } from '../generated/etcdserverpb/LeaseGrantResponse';
import type { LeaseKeepAliveResponse__Output } from '../generated/etcdserverpb/LeaseKeepAliveResponse';
import type { LeaseLeasesResponse__Output } from '../generated/etcdserverpb/LeaseLeasesResponse';
import type { LeaseRevokeResponse__Output } from '../generated/etcdserverpb/LeaseRevokeResponse';
import type { LeaseTimeToLiveResponse__Output } from '../generated/etcdserverpb/LeaseTimeToLiveResponse';
import type { MemberAddResponse__Output } from '../generated/etcdserverpb/MemberAddResponse';
import type { MemberListResponse__Output } from '../generated/etcdserverpb/MemberListResponse';
import type { MemberRemoveResponse__Output } from '../generated/etcdserverpb/MemberRemoveResponse';
import type { MemberUpdateResponse__Output } from '../generated/etcdserverpb/MemberUpdateResponse';
import type { MoveLeaderResponse__Output } from '../generated/etcdserverpb/MoveLeaderResponse';
import type { PutResponse__Output } from '../generated/etcdserverpb/PutResponse';
import type { RangeResponse__Output } from '../generated/etcdserverpb/RangeResponse';
import type { ResponseHeader__Output } from '../generated/etcdserverpb/ResponseHeader';
import type { TxnResponse__Output } from '../generated/etcdserverpb/TxnResponse';
import type { WatchResponse__Output } from '../generated/etcdserverpb/WatchResponse';
import { goJsonString } from './go-format';
import { goJson, goJsonFields } from './go-json';
import type { Output } from './output';
import { EpHashKV, EpHealth, EpStatus, Printer, unsupported } from './printer';

const HEADER = 'etcdserverpb.ResponseHeader';

/**
 * etcdctl's `-w json`: Go's encoding/json of what clientv3 returned. Most answers are etcd's
 * generated structs; the lease answers are clientv3 structs that embed the header (so its fields
 * sit at the top level) and name their own fields; a watch answer is clientv3's WatchResponse.
 */
export class JsonPrinter implements Printer {
  constructor(private readonly o: Output) {}

  get(r: RangeResponse__Output): void {
    this.print(goJson('etcdserverpb.RangeResponse', r));
  }

  put(r: PutResponse__Output): void {
    this.print(goJson('etcdserverpb.PutResponse', r));
  }

  del(r: DeleteRangeResponse__Output): void {
    this.print(goJson('etcdserverpb.DeleteRangeResponse', r));
  }

  txn(r: TxnResponse__Output): void {
    this.print(goJson('etcdserverpb.TxnResponse', r));
  }

  watch(r: WatchResponse__Output): void {
    // clientv3 always makes the event list, so a cancellation shows `[]`.
    const events = `[${r.events.map((e) => goJson('mvccpb.Event', e)).join(',')}]`;
    this.print(`{"Header":${header(r.header)},"Events":${events},"CompactRevision":${r.compact_revision},` +
      `"Canceled":${r.canceled},"Created":${r.created}}`);
  }

  grant(r: LeaseGrantResponse__Output): void {
    this.print(embedded(r.header, [`"ID":${r.ID}`, `"TTL":${r.TTL}`, `"Error":${goJsonString(r.error)}`]));
  }

  revoke(_id: string, r: LeaseRevokeResponse__Output): void {
    this.print(goJson('etcdserverpb.LeaseRevokeResponse', r));
  }

  keepAlive(r: LeaseKeepAliveResponse__Output): void {
    this.print(embedded(r.header, [`"ID":${r.ID}`, `"TTL":${r.TTL}`]));
  }

  timeToLive(r: LeaseTimeToLiveResponse__Output): void {
    const keys = r.keys.length === 0 ? 'null' : `[${r.keys.map((k) => `"${Buffer.from(k).toString('base64')}"`).join(',')}]`;
    this.print(embedded(r.header, [`"id":${r.ID}`, `"ttl":${r.TTL}`, `"granted-ttl":${r.grantedTTL}`, `"keys":${keys}`]));
  }

  /** clientv3 always makes the list, so no leases is `[]`, not null. */
  leases(r: LeaseLeasesResponse__Output): void {
    this.print(embedded(r.header, [`"leases":[${r.leases.map((l) => `{"id":${l.ID}}`).join(',')}]`]));
  }

  memberAdd(r: MemberAddResponse__Output): void {
    this.print(goJson('etcdserverpb.MemberAddResponse', r));
  }

  memberRemove(_id: string, r: MemberRemoveResponse__Output): void {
    this.print(goJson('etcdserverpb.MemberRemoveResponse', r));
  }

  memberUpdate(_id: string, r: MemberUpdateResponse__Output): void {
    this.print(goJson('etcdserverpb.MemberUpdateResponse', r));
  }

  /** etcdctl 3.4 crashes here (its JSON printer lacks the method); keelctl refuses like a format would. */
  memberPromote(): void {
    unsupported('json');
  }

  memberList(r: MemberListResponse__Output): void {
    this.print(goJson('etcdserverpb.MemberListResponse', r));
  }

  endpointHealth(list: EpHealth[]): void {
    const items = list.map((h) => `{"endpoint":${goJsonString(h.ep)},"health":${h.health},"took":${goJsonString(h.took)}` +
      `${h.error === '' ? '' : `,"error":${goJsonString(h.error)}`}}`);
    this.print(`[${items.join(',')}]`);
  }

  endpointStatus(list: EpStatus[]): void {
    const items = list.map(({ ep, resp }) => `{"Endpoint":${goJsonString(ep)},"Status":${goJson('etcdserverpb.StatusResponse', resp)}}`);
    this.print(`[${items.join(',')}]`);
  }

  endpointHashKV(list: EpHashKV[]): void {
    // hash_revision came with etcd 3.5; the etcdctl 3.4 that keelctl matches has no such field to print.
    const items = list.map(({ ep, resp }) => `{"Endpoint":${goJsonString(ep)},"HashKV":${goJson('etcdserverpb.HashKVResponse', { ...resp, hash_revision: undefined })}}`);
    this.print(`[${items.join(',')}]`);
  }

  moveLeader(_leader: string, _target: string, r: MoveLeaderResponse__Output): void {
    this.print(goJson('etcdserverpb.MoveLeaderResponse', r));
  }

  alarm(r: AlarmResponse__Output): void {
    this.print(goJson('etcdserverpb.AlarmResponse', r));
  }

  private print(json: string): void {
    this.o.out(`${json}\n`);
  }
}

/** A header held by value (WatchResponse): always an object, possibly `{}`. */
function header(h: ResponseHeader__Output | null): string {
  return h === null ? '{}' : goJson(HEADER, h);
}

/** A Go struct embedding *ResponseHeader: the header's fields first, at the top level. */
function embedded(h: ResponseHeader__Output | null, own: string[]): string {
  return `{${[...(h === null ? [] : goJsonFields(HEADER, h)), ...own].join(',')}}`;
}
