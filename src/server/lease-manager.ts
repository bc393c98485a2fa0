import type { LeaseGrantRequest__Output } from '../generated/etcdserverpb/LeaseGrantRequest';
import type { LeaseGrantResponse } from '../generated/etcdserverpb/LeaseGrantResponse';
import type { LeaseRevokeResponse } from '../generated/etcdserverpb/LeaseRevokeResponse';
import type { InternalRequest } from '../generated/keelpb/InternalRequest';
import { LeaseNotFoundError } from '../lease/errors';
import { Lessor } from '../lease/lessor';
import { MvccStore } from '../mvcc/kv-store';
import { NodeId, NONE } from '../raft/types';
import { Engine } from '../storage/engine';
import { decodeNumber, prefixRange, PREFIX_LEASE } from '../storage/keyspace';
import { LeaseForward, LeaseForwardReply, PeerTransport } from '../transport/transport';
import { fromKeyString } from '../util/bytes';
import { Logger } from '../util/logger';
import { ServerError } from './errors';

/** How often the leader looks for expired leases (etcd: 500 ms). */
const EXPIRY_CHECK_MS = 500;
/** Revocations proposed per check: etcd's limit of 1,000 revocations a second. */
const REVOKES_PER_CHECK = 500;
/** The pause between tries of a lease question that found no leader to answer it (etcd: 50 ms). */
const ASK_RETRY_MS = 50;
/** What a try of a lease question may fail with and be tried again. */
const RETRIED = new Set(['no-leader', 'timeout']);

export interface LeaseTimeToLive {
  ttl: number;
  grantedTtl: number;
  keys: Buffer[];
}

/**
 * The member's side of leases: grants and revocations go through the log; keep-alives and
 * time-to-live questions are answered by the leader, to which a follower forwards them; the
 * leader proposes the revocation of every lease that expires.
 */
export class LeaseManager {
  /** Revocations of expired leases proposed and not yet settled. */
  private readonly revoking = new Map<bigint, Promise<void>>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly lessor: Lessor,
    private readonly deps: {
      memberId: bigint;
      leader(): NodeId;
      transport(): PeerTransport;
      propose<T>(req: InternalRequest): Promise<{ response: T }>;
      nextLeaseId(): bigint;
      /** Resolves once a quorum confirmed this member's leadership and it applied what was committed before (a ReadIndex round). */
      confirmLeadership(): Promise<void>;
      /** Resolves once this member applied what it knows is committed (etcd's waitAppliedIndex); fails after a while. */
      appliedCommitted(): Promise<void>;
      /** How long a keep-alive or time-to-live question is tried before it fails. */
      requestTimeoutMs: number;
      log: Logger;
    },
  ) {
    this.timer = setInterval(() => this.revokeExpired(), EXPIRY_CHECK_MS);
  }

  /** Loads the leases of the data dir and attaches the keys that name them. */
  static async load(engine: Engine, store: MvccStore, lessor: Lessor): Promise<void> {
    lessor.clear();
    for await (const [k, v] of engine.entries(prefixRange(PREFIX_LEASE))) {
      lessor.restore(k.readBigUInt64BE(1), decodeNumber(v) ?? 0);
    }
    for (const [key, lease] of store.takeLeasedKeys()) lessor.setKeyLease(key, BigInt(lease));
  }

  async grant(req: LeaseGrantRequest__Output): Promise<LeaseGrantResponse> {
    // The ID is chosen here, not in apply, so every member applies the same grant.
    // Refused here, before the log: apply (on every member) keys leases by unsigned IDs.
    if (BigInt(req.ID) < 0n) throw new ServerError('lease-id-negative');
    const id = req.ID === '0' ? this.deps.nextLeaseId().toString() : req.ID;
    return (await this.deps.propose<LeaseGrantResponse>({ lease_grant: { ID: id, TTL: req.TTL } })).response;
  }

  async revoke(id: string): Promise<LeaseRevokeResponse> {
    return (await this.deps.propose<LeaseRevokeResponse>({ lease_revoke: { ID: id } })).response;
  }

  /** A keep-alive: the new TTL, or 0 when the lease is gone (what etcd's clients expect). */
  async keepAlive(id: bigint): Promise<number> {
    const reply = await this.ask({ renew: true, id, keys: false });
    return reply.found ? reply.ttl : 0;
  }

  /** TTL -1 for a lease that does not exist, as etcd answers. */
  async timeToLive(id: bigint, keys: boolean): Promise<LeaseTimeToLive> {
    const reply = await this.ask({ renew: false, id, keys });
    return reply.found ? { ttl: reply.ttl, grantedTtl: reply.grantedTtl, keys: reply.keys } : { ttl: -1, grantedTtl: 0, keys: [] };
  }

  /** Becoming leader extends every lease; losing it stops counting time. */
  leadershipChanged(isLeader: boolean, extendMs: number): void {
    if (isLeader) this.lessor.promote(extendMs);
    else this.lessor.demote();
  }

  /** Answers a lease question as leader (asked by this member or forwarded by a follower). */
  async answer(req: LeaseForward): Promise<LeaseForwardReply> {
    if (!this.lessor.isPrimary) throw new ServerError('no-leader');
    if (req.renew) await this.ensureLeadership();
    // A lease a follower granted and answered for may be committed here but not applied yet.
    await this.deps.appliedCommitted();
    if (!this.lessor.isPrimary) throw new ServerError('no-leader');
    if (req.renew && this.lessor.isExpired(req.id)) {
      // As etcd: a lease whose time is up may be on its way to revocation, and a renewal must not
      // answer for it (its keys would go right after). Wait for the revocation: then the lease is
      // gone, or, if the revocation failed because leadership moved, the client asks again.
      await this.revokeExpiredLease(req.id);
      if (this.lessor.lookup(req.id) !== undefined) throw new ServerError('no-leader');
    }
    const lease = this.lessor.lookup(req.id);
    if (lease === undefined) return { found: false, ttl: -1, grantedTtl: 0, keys: [] };
    const ttl = req.renew ? this.lessor.renew(req.id) : this.lessor.remainingSeconds(req.id);
    return { found: true, ttl, grantedTtl: lease.ttl, keys: req.keys ? [...lease.keys].sort().map(fromKeyString) : [] };
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * As etcd 3.5 before a renewal: a leader paused or cut off may not have learnt yet that another
   * took over, and would renew a lease the new leader lets expire, its keys deleted while the
   * client believes it holds them. A quorum confirms the leadership first; without one the client
   * is told there is no leader and asks again, through another member if it must.
   */
  private async ensureLeadership(): Promise<void> {
    try {
      await this.deps.confirmLeadership();
    } catch {
      throw new ServerError('no-leader');
    }
    if (!this.lessor.isPrimary || this.deps.leader() !== this.deps.memberId) throw new ServerError('no-leader');
  }

  /**
   * Asks the leader, tried again every ASK_RETRY_MS for a request timeout as etcd's LeaseRenew and
   * LeaseTimeToLive do: while there is no leader (an election), while the one there is cannot be
   * reached, or while a new one has not yet promoted its lessor, the question waits for the next
   * rather than failing at once.
   */
  private async ask(req: LeaseForward): Promise<LeaseForwardReply> {
    const deadline = Date.now() + this.deps.requestTimeoutMs;
    for (;;) {
      try {
        return await this.askOnce(req);
      } catch (err) {
        if (!(err instanceof ServerError) || !RETRIED.has(err.reason)) throw err;
        if (Date.now() + ASK_RETRY_MS >= deadline) {
          this.deps.log.warn('gave up a lease question: no leader answered it', { lease: req.id.toString(16), error: err.message });
          throw err;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, ASK_RETRY_MS));
    }
  }

  private async askOnce(req: LeaseForward): Promise<LeaseForwardReply> {
    const leader = this.deps.leader();
    if (leader === NONE) throw new ServerError('no-leader');
    if (leader === this.deps.memberId) return this.answer(req);
    try {
      return await this.deps.transport().forwardLease(leader, req);
    } catch (err) {
      this.deps.log.debug('cannot reach the leader for a lease', { leader: leader.toString(16), error: (err as Error).message });
      throw new ServerError('timeout');
    }
  }

  private revokeExpired(): void {
    for (const id of this.lessor.expired(REVOKES_PER_CHECK)) void this.revokeExpiredLease(id);
  }

  /** Proposes the revocation of an expired lease, once however often asked; settles when it has. */
  private revokeExpiredLease(id: bigint): Promise<void> {
    let revoking = this.revoking.get(id);
    if (revoking === undefined) {
      revoking = this.revoke(id.toString()).then(() => undefined, (err: unknown) => {
        if (!(err instanceof LeaseNotFoundError)) this.deps.log.warn('revoking an expired lease failed', { lease: id.toString(16), error: String(err) });
      }).finally(() => this.revoking.delete(id));
      this.revoking.set(id, revoking);
    }
    return revoking;
  }
}
