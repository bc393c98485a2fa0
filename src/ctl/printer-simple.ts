import type { KeyValue__Output } from '../generated/mvccpb/KeyValue';
import type { AlarmResponse__Output } from '../generated/etcdserverpb/AlarmResponse';
import type { DeleteRangeResponse__Output } from '../generated/etcdserverpb/DeleteRangeResponse';
import type { LeaseGrantResponse__Output } from '../generated/etcdserverpb/LeaseGrantResponse';
import type { LeaseKeepAliveResponse__Output } from '../generated/etcdserverpb/LeaseKeepAliveResponse';
import type { LeaseLeasesResponse__Output } from '../generated/etcdserverpb/LeaseLeasesResponse';
import type { LeaseTimeToLiveResponse__Output } from '../generated/etcdserverpb/LeaseTimeToLiveResponse';
import type { MemberAddResponse__Output } from '../generated/etcdserverpb/MemberAddResponse';
import type { MemberListResponse__Output } from '../generated/etcdserverpb/MemberListResponse';
import type { PutResponse__Output } from '../generated/etcdserverpb/PutResponse';
import type { RangeResponse__Output } from '../generated/etcdserverpb/RangeResponse';
import type { ResponseHeader__Output } from '../generated/etcdserverpb/ResponseHeader';
import type { TxnResponse__Output } from '../generated/etcdserverpb/TxnResponse';
import type { WatchResponse__Output } from '../generated/etcdserverpb/WatchResponse';
import { hex16, hexEscaped, hexId, hexId16 } from './go-format';
import type { Output } from './output';
import type { EpHashKV, EpHealth, EpStatus, Printer } from './printer';
import { endpointHashKVRows, endpointStatusRows, memberListRows, Rows } from './printer-rows';

/** etcdctl's default `-w simple`: raw keys and values, one per line, and short sentences. */
export class SimplePrinter implements Printer {
  /** get --print-value-only: values without their keys. */
  valueOnly = false;

  constructor(private readonly o: Output, private readonly isHex: boolean) {}

  get(r: RangeResponse__Output): void {
    for (const kv of r.kvs) this.kv(kv);
  }

  put(r: PutResponse__Output): void {
    this.o.out('OK\n');
    if (r.prev_kv) this.kv(r.prev_kv);
  }

  del(r: DeleteRangeResponse__Output): void {
    this.o.out(`${r.deleted}\n`);
    for (const kv of r.prev_kvs) this.kv(kv);
  }

  txn(r: TxnResponse__Output): void {
    this.o.out(r.succeeded ? 'SUCCESS\n' : 'FAILURE\n');
    for (const op of r.responses) {
      this.o.out('\n');
      if (op.response_range) this.get(op.response_range);
      else if (op.response_put) this.put(op.response_put);
      else if (op.response_delete_range) this.del(op.response_delete_range);
    }
  }

  watch(r: WatchResponse__Output): void {
    for (const e of r.events) {
      this.o.out(`${e.type}\n`);
      if (e.prev_kv) this.kv(e.prev_kv);
      if (e.kv) this.kv(e.kv);
    }
  }

  grant(r: LeaseGrantResponse__Output): void {
    this.o.out(`lease ${hex16(r.ID)} granted with TTL(${r.TTL}s)\n`);
  }

  revoke(id: string): void {
    this.o.out(`lease ${hex16(id)} revoked\n`);
  }

  keepAlive(r: LeaseKeepAliveResponse__Output): void {
    this.o.out(`lease ${hex16(r.ID)} keepalived with TTL(${r.TTL})\n`);
  }

  timeToLive(r: LeaseTimeToLiveResponse__Output, keys: boolean): void {
    if (r.grantedTTL === '0' && r.TTL === '-1') {
      this.o.out(`lease ${hex16(r.ID)} already expired\n`);
      return;
    }
    let text = `lease ${hex16(r.ID)} granted with TTL(${r.grantedTTL}s), remaining(${r.TTL}s)`;
    if (keys) text += `, attached keys([${r.keys.map((k) => Buffer.from(k).toString('latin1')).join(' ')}])`;
    this.o.out(Buffer.from(`${text}\n`, 'latin1'));
  }

  leases(r: LeaseLeasesResponse__Output): void {
    this.o.out(`found ${r.leases.length} leases\n`);
    for (const l of r.leases) this.o.out(`${hex16(l.ID)}\n`);
  }

  memberAdd(r: MemberAddResponse__Output): void {
    this.o.out(`Member ${hexId16(r.member?.ID ?? '0')} added to cluster ${clusterOf(r.header)}\n`);
  }

  memberRemove(id: string, r: { header: ResponseHeader__Output | null }): void {
    this.o.out(`Member ${hexId16(id)} removed from cluster ${clusterOf(r.header)}\n`);
  }

  memberUpdate(id: string, r: { header: ResponseHeader__Output | null }): void {
    this.o.out(`Member ${hexId16(id)} updated in cluster ${clusterOf(r.header)}\n`);
  }

  memberPromote(id: string, r: { header: ResponseHeader__Output | null }): void {
    this.o.out(`Member ${hexId16(id)} promoted in cluster ${clusterOf(r.header)}\n`);
  }

  memberList(r: MemberListResponse__Output): void {
    this.rows(memberListRows(r));
  }

  /** etcdctl writes health to stderr in this format (and to stdout in the others). */
  endpointHealth(list: EpHealth[]): void {
    for (const h of list) {
      this.o.err(h.error === ''
        ? `${h.ep} is healthy: successfully committed proposal: took = ${h.took}\n`
        : `${h.ep} is unhealthy: failed to commit proposal: ${h.error}\n`);
    }
  }

  endpointStatus(list: EpStatus[]): void {
    this.rows(endpointStatusRows(list));
  }

  endpointHashKV(list: EpHashKV[]): void {
    this.rows(endpointHashKVRows(list));
  }

  moveLeader(leader: string, target: string): void {
    this.o.out(`Leadership transferred from ${hexId(leader)} to ${hexId(target)}\n`);
  }

  /** Go's `%+v` of an AlarmMember is its compact proto text: `memberID:1 alarm:NOSPACE `. */
  alarm(r: AlarmResponse__Output): void {
    for (const a of r.alarms) {
      const fields = [a.memberID !== '0' ? `memberID:${a.memberID} ` : '', a.alarm !== 'NONE' ? `alarm:${a.alarm} ` : ''];
      this.o.out(`${fields.join('')}\n`);
    }
  }

  private rows({ rows }: Rows): void {
    for (const row of rows) this.o.out(`${row.join(', ')}\n`);
  }

  private kv(kv: KeyValue__Output): void {
    const [k, v] = this.isHex ? [hexEscaped(kv.key), hexEscaped(kv.value)] : [kv.key, kv.value];
    if (!this.valueOnly) {
      this.o.out(k);
      this.o.out('\n');
    }
    this.o.out(v);
    this.o.out('\n');
  }
}

function clusterOf(header: ResponseHeader__Output | null): string {
  return hexId16(header?.cluster_id ?? '0');
}
