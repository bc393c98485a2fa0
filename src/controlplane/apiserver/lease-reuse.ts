import type { EtcdEndpoints } from './etcd-endpoints';

/** How long one store lease is handed out for new objects (kube-apiserver's lease reuse window). */
const REUSE_MS = 60_000;

/**
 * Store leases for objects with a TTL, shared by the objects created within a minute of each other
 * (kube-apiserver's leaseManager): a lease per event would cost a store write per event. A shared
 * lease lives REUSE_MS longer than asked, so the last object put under it still gets its full TTL.
 */
export class LeaseReuse {
  private current: { id: string; ttlSeconds: number; grantedAt: number } | undefined;

  constructor(private readonly etcd: EtcdEndpoints) {}

  async lease(ttlSeconds: number): Promise<string> {
    const now = Date.now();
    const c = this.current;
    if (c !== undefined && c.ttlSeconds === ttlSeconds && now - c.grantedAt < REUSE_MS) return c.id;
    const res = await this.etcd.run((e) => e.leaseGrant({ TTL: ttlSeconds + REUSE_MS / 1000 }));
    this.current = { id: res.ID, ttlSeconds, grantedAt: now };
    return res.ID;
  }
}
