import { Clock } from '../util/clock';
import { invariant } from '../util/invariant';
import { LeaseExistsError, LeaseNotFoundError, LeaseTtlTooLargeError } from './errors';

/** etcd's limit: 9,000,000,000 seconds. */
export const MAX_LEASE_TTL_SECONDS = 9_000_000_000;

export interface Lease {
  id: bigint;
  /** The granted TTL, in seconds. */
  ttl: number;
  /** When it expires, in clock milliseconds; only the leader's lessor counts time. */
  expiryMs: number;
  /** Keys attached, as latin1 key strings. */
  keys: Set<string>;
}

/**
 * etcd's lessor. Grant, revoke, attach and detach happen in apply (the same on every member);
 * time counts only on the leader ("primary"): it renews on keep-alive and finds expired leases,
 * whose revocation then goes through the log. Followers keep leases without expiry.
 */
export class Lessor {
  private readonly leases = new Map<bigint, Lease>();
  /** Which lease each attached key belongs to. */
  private readonly keyLease = new Map<string, bigint>();
  private primary = false;

  constructor(private readonly clock: Clock, readonly minTtlSeconds: number) {}

  /** Leases granted, revoked and renewed by this member since it started (etcd's lease metrics). */
  readonly totals = { granted: 0, revoked: 0, renewed: 0 };

  /** Applied grant. The TTL is raised to the minimum, as etcd does. */
  grant(id: bigint, ttlSeconds: number): Lease {
    invariant(id > 0n, 'lease ID must be positive');
    if (ttlSeconds > MAX_LEASE_TTL_SECONDS) throw new LeaseTtlTooLargeError();
    if (this.leases.has(id)) throw new LeaseExistsError();
    const lease = this.restore(id, Math.max(ttlSeconds, this.minTtlSeconds));
    this.totals.granted++;
    return lease;
  }

  /** A lease read back from the data dir at start, granted (and checked) before. */
  restore(id: bigint, ttl: number): Lease {
    const lease: Lease = { id, ttl, expiryMs: this.primary ? this.clock.nowMs() + ttl * 1000 : Infinity, keys: new Set() };
    this.leases.set(id, lease);
    return lease;
  }

  /** Applied revoke: returns the attached keys (sorted) for the caller to delete in one revision. */
  revoke(id: bigint): string[] {
    const lease = this.leases.get(id);
    if (lease === undefined) throw new LeaseNotFoundError();
    this.leases.delete(id);
    this.totals.revoked++;
    for (const k of lease.keys) this.keyLease.delete(k);
    return [...lease.keys].sort();
  }

  lookup(id: bigint): Lease | undefined {
    return this.leases.get(id);
  }

  /** The lease of every key that has one, by key, as the store records it ('0' being none). */
  leasedKeys(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [key, id] of this.keyLease) out.set(key, id.toString());
    return out;
  }

  /** A key now belongs to `id` ('0' for none), replacing any earlier lease of it. */
  setKeyLease(key: string, id: bigint): void {
    const old = this.keyLease.get(key);
    if (old === id) return;
    if (old !== undefined) {
      this.leases.get(old)?.keys.delete(key);
      this.keyLease.delete(key);
    }
    if (id === 0n) return;
    const lease = this.leases.get(id);
    if (lease === undefined) return; // revoked since; apply checked the lease when the put was made
    lease.keys.add(key);
    this.keyLease.set(key, id);
  }

  /** Leader only: renews a lease to its full TTL; returns the TTL. */
  renew(id: bigint): number {
    const lease = this.leases.get(id);
    if (lease === undefined) throw new LeaseNotFoundError();
    lease.expiryMs = this.clock.nowMs() + lease.ttl * 1000;
    this.totals.renewed++;
    return lease.ttl;
  }

  /** Leader only: whether the lease's time is up (its revocation may be on its way through the log). */
  isExpired(id: bigint): boolean {
    const lease = this.leases.get(id);
    return this.primary && lease !== undefined && lease.expiryMs <= this.clock.nowMs();
  }

  /** Whole seconds left (leader's view), truncated as etcd's int64(Remaining().Seconds()); -1 for an unknown lease. */
  remainingSeconds(id: bigint): number {
    const lease = this.leases.get(id);
    if (lease === undefined) return -1;
    if (!Number.isFinite(lease.expiryMs)) return lease.ttl;
    return Math.max(0, Math.trunc((lease.expiryMs - this.clock.nowMs()) / 1000));
  }

  /**
   * Becoming leader: every lease gets its whole TTL again plus `extendMs` (the election that just
   * happened), so no lease expires merely because leadership moved.
   */
  promote(extendMs: number): void {
    this.primary = true;
    const now = this.clock.nowMs();
    for (const l of this.leases.values()) l.expiryMs = now + extendMs + l.ttl * 1000;
  }

  demote(): void {
    this.primary = false;
    for (const l of this.leases.values()) l.expiryMs = Infinity;
  }

  get isPrimary(): boolean {
    return this.primary;
  }

  /** Leader only: leases past their expiry, oldest first, at most `limit`. */
  expired(limit: number): bigint[] {
    if (!this.primary) return [];
    const now = this.clock.nowMs();
    return [...this.leases.values()].filter((l) => l.expiryMs <= now)
      .sort((a, b) => a.expiryMs - b.expiryMs).slice(0, limit).map((l) => l.id);
  }

  list(): Lease[] {
    return [...this.leases.values()];
  }

  /** Forgets everything (before loading the leases of a snapshot). */
  clear(): void {
    this.leases.clear();
    this.keyLease.clear();
  }
}
