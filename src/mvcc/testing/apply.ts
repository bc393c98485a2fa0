import { Engine, EngineOp } from '../../storage/engine';
import { MvccStore } from '../kv-store';
import { WriteTxn } from '../write-txn';

/**
 * One write request as the applier makes it: `body` in a write txn, the txn's batch written, then
 * the store told it is flushed. Returns the store's revision after it.
 */
export async function applyWrite(store: MvccStore, engine: Engine, body: (txn: WriteTxn) => unknown): Promise<number> {
  const batch: EngineOp[] = [];
  const txn = store.beginWrite(batch);
  await body(txn);
  const rev = txn.end();
  await engine.write(batch, { sync: false });
  store.markFlushed();
  return rev;
}

/** A compaction as the applier makes it: the scheduling batch first, then the physical deletion. */
export async function applyCompaction(store: MvccStore, engine: Engine, rev: number): Promise<void> {
  const batch: EngineOp[] = [];
  const physical = store.compact(rev, batch);
  await engine.write(batch, { sync: false });
  store.markFlushed();
  await physical;
}
