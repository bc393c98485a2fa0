import type { MemberListResponse__Output } from '../generated/etcdserverpb/MemberListResponse';
import type { Output } from './output';
import { EpHashKV, EpHealth, EpStatus, Printer, unsupported } from './printer';
import { endpointHashKVRows, endpointHealthRows, endpointStatusRows, memberListRows } from './printer-rows';
import { renderTable } from './table-writer';

/** etcdctl's `-w table`: only the member list and the endpoint answers have a table. */
export class TablePrinter implements Printer {
  constructor(private readonly o: Output) {}

  memberList(r: MemberListResponse__Output): void {
    this.o.out(renderTable(memberListRows(r)));
  }

  endpointHealth(list: EpHealth[]): void {
    this.o.out(renderTable(endpointHealthRows(list)));
  }

  endpointStatus(list: EpStatus[]): void {
    this.o.out(renderTable(endpointStatusRows(list)));
  }

  endpointHashKV(list: EpHashKV[]): void {
    this.o.out(renderTable(endpointHashKVRows(list)));
  }

  get = refuse;
  put = refuse;
  del = refuse;
  txn = refuse;
  watch = refuse;
  grant = refuse;
  revoke = refuse;
  keepAlive = refuse;
  timeToLive = refuse;
  leases = refuse;
  memberAdd = refuse;
  memberRemove = refuse;
  memberUpdate = refuse;
  memberPromote = refuse;
  moveLeader = refuse;
  alarm = refuse;
}

function refuse(): never {
  return unsupported('table');
}
