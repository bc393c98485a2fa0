/** The rows the benchmark knows; `-n` rows use the many-clients setting (--clients over --conns). */
export const ROW_IDS = ['put-1', 'put-n', 'range-1', 'range-n', 'range-s-n'] as const;
export type RowId = (typeof ROW_IDS)[number];

/** One line of the result table: an operation and how many closed-loop clients drive it. */
export interface Row {
  id: RowId;
  /** What a reader sees in the table, e.g. "put 64 clients / 8 conns". */
  label: string;
  op: 'put' | 'range';
  /** Range with serializable: true (etcdctl --consistency=s): served locally, no read barrier. */
  serializable: boolean;
  /** Requests in flight at once; each client waits for its answer before sending the next. */
  clients: number;
  /** EtcdClients (gRPC channels) the clients are spread over, round-robin. */
  conns: number;
}

export function isRowId(id: string): id is RowId {
  return (ROW_IDS as readonly string[]).includes(id);
}

/** Turns row ids into rows; `manyClients` and `manyConns` apply to the `-n` rows only. */
export function planRows(ids: readonly RowId[], manyClients: number, manyConns: number): Row[] {
  return ids.map((id) => {
    const many = id.endsWith('-n');
    const clients = many ? manyClients : 1;
    const conns = many ? manyConns : 1;
    const op = id.startsWith('put') ? 'put' : 'range';
    const serializable = id.startsWith('range-s');
    const name = serializable ? 'range -s' : op;
    const label = clients === 1 ? `${name} 1 client` : `${name} ${clients} clients / ${conns} conns`;
    return { id, label, op, serializable, clients, conns };
  });
}
