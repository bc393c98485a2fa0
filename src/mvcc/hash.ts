import { Engine, EngineReader } from '../storage/engine';
import { prefixRange, PREFIX_LEASE, PREFIX_REVISION } from '../storage/keyspace';
import { Crc32c } from '../util/crc32c';
import { parseRevisionKey, revisionId, revisionKeyFloor } from './revision';

/** etcd hashes the name of its bolt bucket of revision records first. */
const KEY_BUCKET = Buffer.from('key');
/** etcd's revision bytes put '_' between main and sub. */
const REV_SEPARATOR = Buffer.from('_');

/**
 * etcd's HashKV over the records [compactRev+1, rev] plus, below that, the records a compaction at
 * `rev` would keep, so the answer does not depend on how far physical compaction has got. As in
 * etcd, when no key is alive at `rev` every remaining record below the compaction counts.
 * Records are hashed as etcd stores them (its revision key bytes, the mvccpb.KeyValue encoding,
 * which is also ours), so a Keel member and an etcd member given the same writes agree.
 */
export async function hashRecords(engine: Engine, rev: number, compactRev: number, keep: Set<string>): Promise<number> {
  const h = new Crc32c().update(KEY_BUCKET);
  for await (const [k, v] of engine.entries({ gte: revisionKeyFloor(0), lt: revisionKeyFloor(rev + 1) })) {
    const r = parseRevisionKey(k).rev;
    if (r.main <= compactRev && keep.size > 0 && !keep.has(revisionId(r))) continue;
    // Ours: prefix, main(8), sub(8)[, 't']; etcd's: main(8), '_', sub(8)[, 't'].
    h.update(k.subarray(1, 9)).update(REV_SEPARATOR).update(k.subarray(9));
    h.update(v);
  }
  return h.digest();
}

/**
 * etcd's Hash: a checksum of the whole replicated keyspace as stored, here every lease and
 * revision record (the raft log and member-local records differ between members by design).
 */
export async function hashStore(engine: EngineReader): Promise<number> {
  const h = new Crc32c();
  for (const prefix of [PREFIX_LEASE, PREFIX_REVISION]) {
    for await (const [k, v] of engine.entries(prefixRange(prefix))) h.update(k).update(v);
  }
  return h.digest();
}
