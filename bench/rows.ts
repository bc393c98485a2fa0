/** The rows the benchmark knows; `-n` rows use the many-clients setting (--clients over --conns). */
export const ROW_IDS = ['put-1', 'put-n', 'range-1', 'range-n', 'range-s-n', 'txn-put-n', 'mixed-n', 'lease-keepalive-n'] as const;
export type RowId = (typeof ROW_IDS)[number];

/** The rows run when --rows is not given: all of them on one member; on three, those of etcd's cluster benchmarks. */
export function defaultRowIds(members: number): RowId[] {
  return members === 1 ? [...ROW_IDS] : ['put-1', 'put-n', 'range-n', 'range-s-n', 'txn-put-n', 'mixed-n', 'lease-keepalive-n'];
}

/** One line of the result table: an operation and how many closed-loop clients drive it. */
export interface Row {
  id: RowId;
  /** What a reader sees in the table, e.g. "put 64 clients / 8 conns". */
  label: string;
  /**
   * put; range; txn-put: a txn that puts a key if its mod_revision is what was last read (etcd's
   * compare-and-swap, as Kubernetes writes); mixed: 9 linearizable ranges to 1 put;
   * lease-keepalive: one renewal of the client's own lease over its own LeaseKeepAlive stream.
   */
  op: 'put' | 'range' | 'txn-put' | 'mixed' | 'lease-keepalive';
  /** Range with serializable: true (etcdctl --consistency=s): served locally, no read barrier. */
  serializable: boolean;
  /** Requests in flight at once; each client waits for its answer before sending the next. */
  clients: number;
  /** EtcdClients (gRPC channels, one TCP connection each) the clients are spread over, round-robin. */
  conns: number;
  /**
   * Which members the connections go to. 'leader': all to the leader, as etcd's benchmark with
   * --target-leader (the 1-client rows: no forwarding hop, and no luck in which member comes first).
   * 'all': connection i to member i % size, as etcd's benchmark with --endpoints of every member.
   * The same on one member.
   */
  spread: 'leader' | 'all';
}

export function isRowId(id: string): id is RowId {
  return (ROW_IDS as readonly string[]).includes(id);
}

/** Turns row ids into rows; `manyClients` and `manyConns` apply to the `-n` rows only. */
export function planRows(ids: readonly RowId[], manyClients: number, manyConns: number, members = 1): Row[] {
  return ids.map((id) => {
    const many = id.endsWith('-n');
    const clients = many ? manyClients : 1;
    const conns = many ? manyConns : 1;
    const op = id.startsWith('put') ? 'put' : id.startsWith('txn-put') ? 'txn-put' : id.startsWith('mixed') ? 'mixed'
      : id.startsWith('lease-keepalive') ? 'lease-keepalive' : 'range';
    const serializable = id.startsWith('range-s');
    const name = serializable ? 'range -s' : op === 'mixed' ? 'mixed 90% range / 10% put' : op === 'lease-keepalive' ? 'lease keep-alive' : op;
    const spread = many ? 'all' : 'leader';
    let label = clients === 1 ? `${name} 1 client` : `${name} ${clients} clients / ${conns} conns`;
    if (members > 1) label += spread === 'leader' ? ' to the leader' : ' over all members';
    return { id, label, op, serializable, clients, conns, spread };
  });
}
