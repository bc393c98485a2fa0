import { randomBytes, randomInt } from 'node:crypto';
import type { EtcdClient } from '../src/client/etcd-client';
import type { Row } from './rows';

/** Key lengths of the put rows, in bytes (inclusive), as asked for: 8 to 32. */
const KEY_BYTES_MIN = 8;
const KEY_BYTES_MAX = 32;
/**
 * Puts cycle over this many distinct keys. Made up front so the loop allocates nothing per request,
 * and bounded so both stores update existing keys instead of only growing their key index.
 */
const PUT_KEY_COUNT = 10_000;
/** The one key the range rows read; written once before any row runs. */
export const RANGE_KEY = Buffer.from('bench/range-key');

/** One request against a connection; rejects if the server answers wrongly. */
export type Op = (client: EtcdClient) => Promise<unknown>;

/** The data every row of one run shares: the same keys and value for keel and for etcd. */
export interface Workload {
  putKeys: Buffer[];
  value: Buffer;
}

export function makeWorkload(valueBytes: number): Workload {
  const putKeys: Buffer[] = [];
  for (let i = 0; i < PUT_KEY_COUNT; i++) {
    const length = randomInt(KEY_BYTES_MIN, KEY_BYTES_MAX + 1);
    // Hex so keys stay printable (easy to inspect with etcdctl); the prefix keeps them apart from RANGE_KEY.
    putKeys.push(Buffer.from(`b/${randomBytes(length).toString('hex')}`.slice(0, length)));
  }
  return { putKeys, value: randomBytes(valueBytes) };
}

/** Writes the key the range rows read and checks it reads back, so a range row measures a real hit. */
export async function prepareTarget(client: EtcdClient, workload: Workload): Promise<void> {
  await client.put({ key: RANGE_KEY, value: workload.value });
  const res = await client.range({ key: RANGE_KEY });
  if (res.kvs.length !== 1) throw new Error(`range of ${RANGE_KEY} after put returned ${res.kvs.length} keys`);
}

export function makeOp(row: Row, workload: Workload): Op {
  const { putKeys, value } = workload;
  let next = 0;
  const put: Op = (client) => client.put({ key: putKeys[next++ % putKeys.length]!, value });
  const req = { key: RANGE_KEY, serializable: row.serializable };
  const range: Op = async (client) => {
    const res = await client.range(req);
    // A fast empty answer must not pass as a read.
    if (res.kvs.length !== 1) throw new Error(`range returned ${res.kvs.length} keys, want 1`);
  };
  switch (row.op) {
    case 'put': return put;
    case 'range': return range;
    case 'mixed': return (client) => (next++ % 10 === 9 ? put(client) : range(client));
    case 'txn-put': {
      // Each key's mod_revision as this client last saw it: a txn that lost a race reads it again.
      const seen = new Map<number, string>();
      return async (client) => {
        const i = next++ % putKeys.length;
        const key = putKeys[i]!;
        const res = await client.txn({
          compare: [{ key, target: 'MOD', result: 'EQUAL', mod_revision: seen.get(i) ?? '0' }],
          success: [{ request_put: { key, value } }],
          failure: [{ request_range: { key } }],
        });
        const rev = res.succeeded ? res.header!.revision : res.responses[0]?.response_range?.kvs[0]?.mod_revision ?? '0';
        seen.set(i, rev);
      };
    }
  }
}
