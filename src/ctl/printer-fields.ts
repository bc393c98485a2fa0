import type { KeyValue__Output } from '../generated/mvccpb/KeyValue';
import type { AlarmResponse__Output } from '../generated/etcdserverpb/AlarmResponse';
import type { DeleteRangeResponse__Output } from '../generated/etcdserverpb/DeleteRangeResponse';
import type { LeaseGrantResponse__Output } from '../generated/etcdserverpb/LeaseGrantResponse';
import type { LeaseKeepAliveResponse__Output } from '../generated/etcdserverpb/LeaseKeepAliveResponse';
import type { LeaseLeasesResponse__Output } from '../generated/etcdserverpb/LeaseLeasesResponse';
import type { LeaseRevokeResponse__Output } from '../generated/etcdserverpb/LeaseRevokeResponse';
import type { LeaseTimeToLiveResponse__Output } from '../generated/etcdserverpb/LeaseTimeToLiveResponse';
import type { MemberListResponse__Output } from '../generated/etcdserverpb/MemberListResponse';
import type { PutResponse__Output } from '../generated/etcdserverpb/PutResponse';
import type { RangeResponse__Output } from '../generated/etcdserverpb/RangeResponse';
import type { ResponseHeader__Output } from '../generated/etcdserverpb/ResponseHeader';
import type { TxnResponse__Output } from '../generated/etcdserverpb/TxnResponse';
import type { WatchResponse__Output } from '../generated/etcdserverpb/WatchResponse';
import { goQuote } from './go-format';
import type { Output } from './output';
import { EpHashKV, EpHealth, EpStatus, Printer, unsupported } from './printer';

/**
 * etcdctl's `-w fields`: one `"Name" : value` line per field, strings in Go's %q quoting.
 * It has no layout for the membership changes and move-leader.
 */
export class FieldsPrinter implements Printer {
  constructor(private readonly o: Output) {}

  get(r: RangeResponse__Output): void {
    this.hdr(r.header);
    for (const kv of r.kvs) this.kv('', kv);
    this.line('More', r.more);
    this.line('Count', r.count);
  }

  put(r: PutResponse__Output): void {
    this.hdr(r.header);
    if (r.prev_kv) this.kv('Prev', r.prev_kv);
  }

  del(r: DeleteRangeResponse__Output): void {
    this.hdr(r.header);
    this.line('Deleted', r.deleted);
    for (const kv of r.prev_kvs) this.kv('Prev', kv);
  }

  txn(r: TxnResponse__Output): void {
    this.hdr(r.header);
    this.line('Succeeded', r.succeeded);
    for (const op of r.responses) {
      if (op.response_range) this.get(op.response_range);
      else if (op.response_put) this.put(op.response_put);
      else if (op.response_delete_range) this.del(op.response_delete_range);
    }
  }

  watch(r: WatchResponse__Output): void {
    this.hdr(r.header);
    for (const e of r.events) {
      this.line('Type', e.type);
      if (e.prev_kv) this.kv('Prev', e.prev_kv);
      if (e.kv) this.kv('', e.kv);
    }
  }

  grant(r: LeaseGrantResponse__Output): void {
    this.hdr(r.header);
    this.line('ID', r.ID);
    this.line('TTL', r.TTL);
  }

  revoke(_id: string, r: LeaseRevokeResponse__Output): void {
    this.hdr(r.header);
  }

  keepAlive(r: LeaseKeepAliveResponse__Output): void {
    this.hdr(r.header);
    this.line('ID', r.ID);
    this.line('TTL', r.TTL);
  }

  timeToLive(r: LeaseTimeToLiveResponse__Output): void {
    this.hdr(r.header);
    this.line('ID', r.ID);
    this.line('TTL', r.TTL);
    this.line('GrantedTTL', r.grantedTTL);
    for (const k of r.keys) this.line('Key', goQuote(k));
  }

  leases(r: LeaseLeasesResponse__Output): void {
    this.hdr(r.header);
    for (const l of r.leases) this.line('ID', l.ID);
  }

  memberAdd(): void {
    unsupported('fields');
  }

  memberRemove(): void {
    unsupported('fields');
  }

  memberUpdate(): void {
    unsupported('fields');
  }

  memberPromote(): void {
    unsupported('fields');
  }

  memberList(r: MemberListResponse__Output): void {
    this.hdr(r.header);
    for (const m of r.members) {
      this.line('ID', m.ID);
      this.line('Name', goQuote(m.name));
      for (const u of m.peerURLs) this.line('PeerURL', goQuote(u));
      for (const u of m.clientURLs) this.line('ClientURL', goQuote(u));
      this.line('IsLearner', m.isLearner);
      this.o.out('\n');
    }
  }

  endpointHealth(list: EpHealth[]): void {
    for (const h of list) {
      this.line('Endpoint', goQuote(h.ep));
      this.line('Health', h.health);
      this.line('Took', h.took);
      this.line('Error', h.error);
      this.o.out('\n');
    }
  }

  endpointStatus(list: EpStatus[]): void {
    for (const { ep, resp } of list) {
      this.hdr(resp.header);
      this.line('Version', goQuote(resp.version));
      this.line('DBSize', resp.dbSize);
      this.line('Leader', resp.leader);
      this.line('IsLearner', resp.isLearner);
      this.line('RaftIndex', resp.raftIndex);
      this.line('RaftTerm', resp.raftTerm);
      this.line('RaftAppliedIndex', resp.raftAppliedIndex);
      this.line('Errors', `[${resp.errors.join(' ')}]`);
      this.line('Endpoint', goQuote(ep));
      this.o.out('\n');
    }
  }

  endpointHashKV(list: EpHashKV[]): void {
    for (const { ep, resp } of list) {
      this.hdr(resp.header);
      this.line('Endpoint', goQuote(ep));
      this.line('Hash', resp.hash);
      this.o.out('\n');
    }
  }

  moveLeader(): void {
    unsupported('fields');
  }

  /** etcd's Alarm answer has no header; etcdctl 3.4 crashes on it here, keelctl prints zeros. */
  alarm(r: AlarmResponse__Output): void {
    this.hdr(r.header);
    for (const a of r.alarms) {
      this.line('MemberID', a.memberID);
      this.line('AlarmType', a.alarm);
      this.o.out('\n');
    }
  }

  private hdr(h: ResponseHeader__Output | null): void {
    this.line('ClusterID', h?.cluster_id ?? '0');
    this.line('MemberID', h?.member_id ?? '0');
    this.line('Revision', h?.revision ?? '0');
    this.line('RaftTerm', h?.raft_term ?? '0');
  }

  private kv(prefix: string, kv: KeyValue__Output): void {
    this.line(`${prefix}Key`, goQuote(kv.key));
    this.line(`${prefix}CreateRevision`, kv.create_revision);
    this.line(`${prefix}ModRevision`, kv.mod_revision);
    this.line(`${prefix}Version`, kv.version);
    this.line(`${prefix}Value`, goQuote(kv.value));
    this.line(`${prefix}Lease`, kv.lease);
  }

  /** Go's Println(`"Name" :`, value): a space between, so an empty value leaves a trailing space. */
  private line(name: string, value: string | number | boolean): void {
    this.o.out(`"${name}" : ${value}\n`);
  }
}
