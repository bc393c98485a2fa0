import { setImmediate } from 'node:timers/promises';
import { IndexBuilder } from '../mvcc/index-builder';
import { Engine, EngineOp, LargeBatch } from '../storage/engine';
import { prefixRange, PREFIX_LEASE, PREFIX_REVISION } from '../storage/keyspace';
import type { SnapshotIntake } from '../transport/transport';
import { asBuffer } from '../util/bytes';
import { invariant } from '../util/invariant';
import { compactionFinishedOf, compactionOf, DUMP_HEADER_BYTES, markOps, recordsOf, visitRecords } from './state-snapshot';

/** Records taken between two yields to the event loop, when a piece holds many. */
const RECORDS_PER_SLICE = 10_000;

/**
 * The install of a snapshot (state-snapshot.ts's dump) prepared as its state arrives: each record
 * goes into one engine batch as its piece comes, so that once Raft takes the snapshot the batch is
 * ready to write. The pieces themselves are kept, as runs of whole records, for what the install
 * still reads (which old records are stale, the key index): the state is not also gathered into
 * one buffer. The key index is built while LevelDB writes it: building it as the pieces came too
 * made the receiver, not the leader's reading, set the pace of the transfer.
 *
 * A record may be cut by the end of a piece; its start waits for the next one. Failing (a
 * malformed piece) or dropped, the preparation lets its batch go and is not used.
 */
export class StatePreparation implements SnapshotIntake {
  private readonly batch: LargeBatch;
  private compactRev: number | undefined;
  /** The records taken so far, in runs of whole records (views into the pieces). */
  private readonly runs: Buffer[] = [];
  /** The start of a record the last piece cut off. */
  private carry: Buffer = Buffer.alloc(0);
  private bytesTaken = 0;
  /** Why the preparation cannot be used, once it cannot. */
  private unusable: string | undefined;

  constructor(engine: Engine) {
    this.batch = engine.largeBatch();
  }

  /** Bytes of state taken. */
  get bytes(): number {
    return this.bytesTaken;
  }

  async add(piece: Buffer): Promise<void> {
    if (this.unusable !== undefined) return;
    try {
      await this.take(piece);
    } catch (err) {
      this.giveUp(`state dump malformed: ${(err as Error).message}`);
    }
  }

  private async take(piece: Buffer): Promise<void> {
    this.bytesTaken += piece.length;
    let data = this.carry.length === 0 ? piece : Buffer.concat([this.carry, piece]);
    if (this.compactRev === undefined) {
      if (data.length < DUMP_HEADER_BYTES) {
        this.carry = data;
        return;
      }
      this.compactRev = compactionOf(data);
      data = data.subarray(DUMP_HEADER_BYTES);
    }
    const records = recordsOf(data, 0);
    let taken = 0;
    for (let r = records.next(); ; r = records.next()) {
      if (r.done === true) {
        if (r.value > 0) this.runs.push(data.subarray(0, r.value));
        this.carry = data.subarray(r.value);
        return;
      }
      this.batch.put(...r.value);
      // A state given whole (not as it arrives) must still let heartbeats through.
      if (++taken % RECORDS_PER_SLICE === 0) await setImmediate();
      if (this.unusable !== undefined) return;
    }
  }

  drop(): void {
    this.giveUp('dropped');
  }

  private giveUp(why: string): void {
    this.unusable ??= why;
    this.batch.discard();
    this.runs.length = 0;
  }

  /** Why what was taken is not a whole state, ready to write, if it is not. */
  unfit(): string | undefined {
    if (this.unusable !== undefined) return this.unusable;
    if (this.compactRev === undefined) return 'state dump is shorter than its header';
    if (this.carry.length > 0) return `state dump cut short at byte ${this.bytesTaken - this.carry.length}`;
    return undefined;
  }

  /**
   * Writes the prepared state in place of the engine's, in ONE synced batch together with
   * `finalOps` (the Raft snapshot mark): a crash leaves the old state or the new one, never a mix.
   * Old records the state does not hold are deleted in the same batch. Returns the new key index,
   * built from the state while the engine writes.
   */
  async write(engine: Engine, appliedIndex: number, finalOps: EngineOp[]): Promise<IndexBuilder> {
    const unfit = this.unfit();
    if (unfit !== undefined) {
      this.drop();
      throw new Error(unfit);
    }
    this.unusable = 'written';
    const stale = await staleKeys(engine, this.records());
    const marks = markOps(this.compactRev!, compactionFinishedOf(this.records()), appliedIndex);
    const written = this.batch.write([...stale.map((key): EngineOp => ({ type: 'del', key })), ...marks, ...finalOps], { sync: true });
    // A failed index build is held until the write is over, so a failed write does not leave it unhandled.
    const indexed = indexRevisions(this.runs).then((index) => ({ index }), (failed: unknown) => ({ failed }));
    await written;
    const outcome = await indexed;
    this.runs.length = 0;
    if ('failed' in outcome) throw outcome.failed;
    return outcome.index;
  }

  private *records(): Generator<[Buffer, Buffer]> {
    for (const run of this.runs) yield* recordsOf(run, 0);
  }
}

/**
 * The key index of the revision records in `runs`, read in place. It yields to the event loop
 * every RECORDS_PER_SLICE records: it is built while LevelDB writes the same state, and heartbeats
 * must get through meanwhile.
 */
async function indexRevisions(runs: readonly Buffer[]): Promise<IndexBuilder> {
  const builder = new IndexBuilder();
  for (const run of runs) {
    const indexRevision = (keyStart: number, valueStart: number, valueEnd: number): void => {
      if (run[keyStart] === PREFIX_REVISION) builder.addFrom(run, keyStart, valueStart, run, valueStart, valueEnd);
    };
    for (let at = 0; at < run.length; await setImmediate()) {
      const next = visitRecords(run, at, RECORDS_PER_SLICE, indexRevision);
      invariant(next > at, 'a run of records ends inside one');
      at = next;
    }
  }
  return builder;
}

/** The records whose key begins with one of `prefixes`, in the order they come. */
function* withPrefixes(records: Iterable<[Buffer, Buffer]>, prefixes: readonly number[]): Iterable<[Buffer, Buffer]> {
  for (const record of records) if (prefixes.includes(record[0][0]!)) yield record;
}

/** The kinds of record an install deletes when the state lacks them, in key order. */
const DELETABLE_PREFIXES = [PREFIX_LEASE, PREFIX_REVISION];

/** The preparation of a state given whole (not as it arrived); throws if the dump is not a whole state. */
export async function prepareWhole(engine: Engine, dump: Uint8Array): Promise<StatePreparation> {
  const state = new StatePreparation(engine);
  await state.add(asBuffer(dump));
  const unfit = state.unfit();
  if (unfit !== undefined) {
    state.drop();
    throw new Error(unfit);
  }
  return state;
}

/**
 * The engine's lease and revision records that the state's `records` do not hold. The batch
 * deletes them after putting the state's records, so those the state holds must not be among them:
 * both lists are in key order, and are walked side by side. The dump's meta records come before
 * its leases but sort after them, so they are left out of the walk: taken as its first keys, they
 * had marked every lease the old state held stale, one the new state held too, and a member that
 * installed a snapshot over an older one lost its leases and went its own way from there.
 */
async function staleKeys(engine: Engine, records: Iterable<[Buffer, Buffer]>): Promise<Buffer[]> {
  const present: Buffer[] = [];
  for (const prefix of DELETABLE_PREFIXES) {
    for await (const key of engine.keys(prefixRange(prefix))) present.push(key);
  }
  if (present.length === 0) return present;
  const stale: Buffer[] = [];
  // The dump lists each kind in key order, leases first: these are in key order too.
  const held = withPrefixes(records, DELETABLE_PREFIXES)[Symbol.iterator]();
  let next = held.next();
  for (const key of present) {
    while (next.done !== true && Buffer.compare(next.value[0], key) < 0) next = held.next();
    if (next.done === true || !next.value[0].equals(key)) stale.push(key);
  }
  return stale;
}
