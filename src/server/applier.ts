import type { InternalRequest__Output } from '../generated/keelpb/InternalRequest';
import { CompactedError, FutureRevisionError } from '../mvcc/errors';
import { MvccStore } from '../mvcc/kv-store';
import { WriteTxn } from '../mvcc/write-txn';
import { Engine, EngineOp } from '../storage/engine';
import { encodeNumber, leaseKey, metaKey } from '../storage/keyspace';
import { LeaseExistsError, LeaseNotFoundError, LeaseTtlTooLargeError } from '../lease/errors';
import { Lessor } from '../lease/lessor';
import { LogEntry } from '../storage/log-store';
import { invariant } from '../util/invariant';
import { AnswerReads, applyDeleteRange, applyPut } from './apply/put-delete';
import { applyTxn } from './apply/txn';
import { ServerError } from './errors';
import { decodeInternalRequest } from './internal-request';
import { MembershipState } from './membership-state';
import { ConfChange, decodeConfChange } from '../raft/conf-change';
import { fromConfChange, MemberChange } from './member-change';
import { AlarmStore } from './alarm-store';
import { AuthStore } from './auth-store';
import { quotaCost } from './quota';
import { secondsSince } from './metrics';

/** What applying one entry produced, handed to the proposer's waiter. Failures are values. */
export type ApplyResult =
  | { ok: true; response: object; physicalCompaction?: Promise<void> }
  | { ok: false; error: Error };

/**
 * Applies committed entries to the MVCC store, deterministically, in log order. One call writes
 * one batch holding every change and the new applied index, so a restart never applies twice.
 */
export class Applier {
  private readonly leaseExists = (id: string) => this.lessor.lookup(BigInt(id)) !== undefined;

  constructor(
    private readonly engine: Engine,
    private readonly store: MvccStore,
    private readonly membership: MembershipState,
    private readonly lessor: Lessor,
    private applied: number,
    private readonly members: MemberChangeHooks,
    private readonly state: {
      alarms: AlarmStore; auth: AuthStore; commitSeconds(seconds: number): void;
      /** Whether a client of this member waits for the request's answer (its proposer is here). */
      awaited(id: string): boolean;
    },
  ) {}

  get appliedIndex(): number {
    return this.applied;
  }

  /** After a snapshot replaced the state. */
  resetAppliedIndex(index: number): void {
    this.applied = index;
  }

  /**
   * Applies `entries` in one batch. The results go to `applied` as soon as the store holds them
   * in memory, before the batch reaches the engine: reads find unflushed records in memory, what
   * needs the engine (hashes, watch replay) waits for the flush, and a crash before it only
   * replays these entries from the durable log. Resolves once the batch is written.
   */
  async applyEntries(entries: LogEntry[], applied: (results: Array<{ id: string; result: ApplyResult }>) => void): Promise<void> {
    const batch: EngineOp[] = [];
    const results: Array<{ id: string; result: ApplyResult }> = [];
    for (const entry of entries) {
      invariant(entry.index === this.applied + 1, () => `applying entry ${entry.index} after ${this.applied}`);
      if (entry.type === 'conf-change') {
        results.push(this.applyMemberChange(entry.data, batch));
      } else if (entry.data.length > 0) { // a new leader's empty entry only moves the applied index
        const req = decodeInternalRequest(entry.data);
        const result = this.applyRequest(req, batch);
        results.push({ id: req.id, result: result instanceof Promise ? await result : result });
      }
      // Only now: a linearizable read waiting for this index (it may ask while the apply awaits
      // the engine) must see what the entry wrote.
      this.applied = entry.index;
    }
    batch.push({ type: 'put', key: metaKey('applied-index'), value: encodeNumber(this.applied) });
    // A configuration change is answered only once Raft has been told it is applied, which happens
    // after this batch: Raft drops the next change proposed before that (one at a time).
    const changesConfiguration = entries.some((e) => e.type === 'conf-change');
    if (!changesConfiguration) applied(results);
    // The log already holds these entries durably; losing this batch in a crash only means replaying them.
    const started = process.hrtime.bigint();
    await this.engine.write(batch, { sync: false });
    this.state.commitSeconds(secondsSince(started));
    this.store.markFlushed();
    if (changesConfiguration) applied(results);
  }

  /** A change refused by validation leaves Raft's configuration and the membership alone. */
  private applyMemberChange(data: Uint8Array, batch: EngineOp[]): { id: string; result: ApplyResult } {
    const cc = decodeConfChange(data);
    const { requestId, change } = fromConfChange(cc);
    try {
      this.membership.validate(change);
    } catch (err) {
      return { id: requestId, result: failure(err) };
    }
    this.members.applyConfChange(cc);
    this.membership.apply(change, batch);
    this.members.changed(change);
    return { id: requestId, result: { ok: true, response: {} } };
  }

  /** A result at once where nothing had to be read first (see applyPut), else a promise of it. */
  private applyRequest(req: InternalRequest__Output, batch: EngineOp[]): ApplyResult | Promise<ApplyResult> {
    if (req.member_attributes != null) {
      const a = req.member_attributes;
      this.membership.setAttributes(BigInt(a.member_id), a.name, a.client_urls, batch);
      return { ok: true, response: {} };
    }
    if (req.cluster_version != null) {
      this.membership.setClusterVersion(req.cluster_version.version, batch);
      return { ok: true, response: {} };
    }
    if (req.alarm != null) return { ok: true, response: this.state.alarms.apply(req.alarm, batch) };
    if (req.auth != null) {
      try {
        return { ok: true, response: this.state.auth.apply(req.auth, batch) };
      } catch (err) {
        return failure(err);
      }
    }
    if (!this.state.auth.stillPermits(Number(req.auth_revision))) return { ok: false, error: new ServerError('auth-old-revision') };
    // etcd's corrupt applier: while CORRUPT is raised, no KV, compaction or lease grant/revoke is applied.
    if (this.state.alarms.has('CORRUPT') && (req.put != null || req.delete_range != null || req.txn != null ||
      req.compaction != null || req.lease_grant != null || req.lease_revoke != null)) return { ok: false, error: new ServerError('corrupt') };
    // etcd's capped applier: while NOSPACE is raised, nothing that costs space is applied.
    if (this.state.alarms.has('NOSPACE') && quotaCost(req) > 0) return { ok: false, error: new ServerError('no-space') };
    if (req.compaction != null) {
      try {
        const physicalCompaction = this.store.compact(Number(req.compaction.revision), batch);
        // Nobody may be waiting for a compaction proposed before a restart.
        physicalCompaction.catch(() => {});
        return { ok: true, response: { header: { revision: this.store.currentRevision } }, physicalCompaction };
      } catch (err) {
        return failure(err);
      }
    }
    if (req.lease_grant != null) {
      try {
        const lease = this.lessor.grant(BigInt(req.lease_grant.ID), Number(req.lease_grant.TTL));
        batch.push({ type: 'put', key: leaseKey(lease.id), value: encodeNumber(lease.ttl) });
        return { ok: true, response: { ID: lease.id.toString(), TTL: lease.ttl, error: '' } };
      } catch (err) {
        return failure(err);
      }
    }
    const txn = this.store.beginWrite(batch);
    let response: object | Promise<object>;
    try {
      response = this.applyWrite(txn, req, batch);
    } catch (err) {
      return writeFailed(txn, err);
    }
    if (response instanceof Promise) return response.then((r) => this.writeDone(txn, r), (err: unknown) => writeFailed(txn, err));
    return this.writeDone(txn, response);
  }

  private writeDone(txn: WriteTxn, response: object): ApplyResult {
    try {
      // Keys follow their leases: a put moves a key to the lease it names, a delete frees it.
      txn.changes.forEach((kv, i) => this.lessor.setKeyLease(txn.changedKeys[i]!, kv.create_revision === 0 ? 0n : BigInt(kv.lease)));
      return { ok: true, response };
    } finally {
      txn.end();
    }
  }

  private applyWrite(txn: WriteTxn, req: InternalRequest__Output, batch: EngineOp[]): object | Promise<object> {
    // Every member applies every write, but only the proposer's answer reaches a client: the
    // others skip the reads that serve the answer alone (a compare-and-put's failure branch reads
    // the key back on each member, through the engine's thread pool, as Kubernetes' writes do).
    const answer: AnswerReads = this.state.awaited(req.id) ? 'read' : 'skip';
    if (req.put != null) return applyPut(txn, req.put, this.leaseExists, answer);
    if (req.delete_range != null) return applyDeleteRange(txn, req.delete_range, answer);
    if (req.lease_revoke != null) return this.revokeLease(txn, BigInt(req.lease_revoke.ID), batch);
    invariant(req.txn != null, `log entry ${req.id} holds no request`);
    return applyTxn(txn, req.txn, this.leaseExists, answer);
  }

  /** The lease's keys go in one revision, in key order, as etcd deletes them. */
  private async revokeLease(txn: WriteTxn, id: bigint, batch: EngineOp[]): Promise<object> {
    for (const key of this.lessor.revoke(id)) await txn.deleteRange({ start: key, end: undefined });
    batch.push({ type: 'del', key: leaseKey(id) });
    return { header: { revision: txn.headRev } };
  }
}

/** A write that failed must have changed nothing; expected failures become results (see failure). */
function writeFailed(txn: WriteTxn, err: unknown): ApplyResult {
  try {
    invariant(txn.changes.length === 0, `request failed after writing: ${String(err)}`);
    return failure(err);
  } finally {
    txn.end();
  }
}

/** What applying a membership change does outside the state machine. */
export interface MemberChangeHooks {
  /** Puts the change into effect in Raft. */
  applyConfChange(cc: ConfChange): void;
  /** Told after the membership took the change (peer addresses, a member removing itself). */
  changed(change: MemberChange): void;
}

/** Expected failures become results; anything else is a bug or an IO failure and stays thrown. */
function failure(err: unknown): ApplyResult {
  if (err instanceof ServerError || err instanceof CompactedError || err instanceof FutureRevisionError ||
    err instanceof LeaseNotFoundError || err instanceof LeaseExistsError || err instanceof LeaseTtlTooLargeError) {
    return { ok: false, error: err };
  }
  throw err;
}
