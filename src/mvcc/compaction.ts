import { Engine, EngineOp } from '../storage/engine';
import { encodeNumber, metaKey } from '../storage/keyspace';
import { parseRevisionKey, revisionId, revisionKeyFloor } from './revision';

/** Deletes go out in batches of this many, so a large compaction never holds up writes for long. */
const DELETE_BATCH = 1000;

/**
 * Physically removes every revision record at or below `rev` that is not in `keep`, then marks the
 * compaction finished. The deletes need no fsync: if they are lost, restart repeats them.
 */
export async function compactRecords(engine: Engine, rev: number, keep: Set<string>): Promise<number> {
  let removed = 0;
  let ops: EngineOp[] = [];
  for await (const key of engine.keys({ gte: revisionKeyFloor(0), lt: revisionKeyFloor(rev + 1) })) {
    if (keep.has(revisionId(parseRevisionKey(key).rev))) continue;
    ops.push({ type: 'del', key });
    if (ops.length >= DELETE_BATCH) {
      removed += ops.length;
      await engine.write(ops, { sync: false });
      ops = [];
    }
  }
  removed += ops.length;
  ops.push({ type: 'put', key: metaKey('compact-finished'), value: encodeNumber(rev) });
  await engine.write(ops, { sync: false });
  return removed;
}
