import type { RangeRequest__Output } from '../../generated/etcdserverpb/RangeRequest';
import type { RangeResponse } from '../../generated/etcdserverpb/RangeResponse';
import { KeyValue } from '../../mvcc/key-value';
import { KvView } from '../../mvcc/kv-store';
import { spanOf } from './span';
import { EMPTY_BYTES } from '../../util/bytes';

type SortTarget = RangeRequest__Output['sort_target'];

const BY_TARGET: Record<SortTarget, (a: KeyValue, b: KeyValue) => number> = {
  KEY: (a, b) => Buffer.compare(a.key, b.key),
  VERSION: (a, b) => a.version - b.version,
  CREATE: (a, b) => a.create_revision - b.create_revision,
  MOD: (a, b) => a.mod_revision - b.mod_revision,
  VALUE: (a, b) => Buffer.compare(a.value, b.value),
};

/** etcd's Range: filters and sorting see every match, so `limit` applies only after them. */
export async function applyRange(view: KvView, req: RangeRequest__Output): Promise<RangeResponse> {
  const limit = Number(req.limit);
  const minMod = Number(req.min_mod_revision);
  const maxMod = Number(req.max_mod_revision);
  const minCreate = Number(req.min_create_revision);
  const maxCreate = Number(req.max_create_revision);
  const filtered = minMod !== 0 || maxMod !== 0 || minCreate !== 0 || maxCreate !== 0;
  const fetchAll = req.sort_order !== 'NONE' || filtered;
  const rr = await view.range(spanOf(req.key, req.range_end), {
    rev: Number(req.revision),
    // One more than asked tells whether there is more.
    limit: fetchAll || limit <= 0 ? 0 : limit + 1,
    countOnly: req.count_only,
  });
  let kvs = rr.kvs;
  if (filtered) {
    kvs = kvs.filter((kv) =>
      (minMod === 0 || kv.mod_revision >= minMod) && (maxMod === 0 || kv.mod_revision <= maxMod) &&
      (minCreate === 0 || kv.create_revision >= minCreate) && (maxCreate === 0 || kv.create_revision <= maxCreate));
  }
  // The index yields key order; any other target sorts ascending unless told otherwise.
  const order = req.sort_order === 'NONE' && req.sort_target !== 'KEY' ? 'ASCEND' : req.sort_order;
  if (order !== 'NONE') {
    const cmp = BY_TARGET[req.sort_target];
    kvs = [...kvs].sort(order === 'DESCEND' ? (a, b) => cmp(b, a) : cmp);
  }
  let more = false;
  if (limit > 0 && kvs.length > limit) {
    kvs = kvs.slice(0, limit);
    more = true;
  }
  if (req.keys_only) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY_BYTES }));
  return { header: { revision: rr.rev }, kvs, more, count: rr.count };
}
