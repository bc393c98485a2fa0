import type { EtcdClient } from './etcd-client';
import type { LeaseKeepAliveResponse__Output } from '../generated/etcdserverpb/LeaseKeepAliveResponse';

/**
 * clientv3's concurrency.Session: a lease kept alive (every TTL/3) for as long as the session
 * lives. Locks and election proposals are keys on this lease, so they vanish if the holder dies.
 */
export class Session {
  /** Resolves when the lease is lost (expired, revoked, or the keep-alive stream failed). */
  readonly done: Promise<void>;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(private readonly client: EtcdClient, readonly leaseId: string, ttl: number) {
    const stream = client.leaseKeepAliveStream();
    this.done = new Promise<void>((resolve) => {
      const lost = () => {
        clearTimeout(this.timer);
        resolve();
      };
      stream.on('data', (r: LeaseKeepAliveResponse__Output) => {
        if (Number(r.TTL) <= 0) return lost();
        this.timer = setTimeout(() => stream.write({ ID: leaseId }), (Number(r.TTL) * 1000) / 3);
      });
      stream.on('error', lost);
      stream.on('end', lost);
    });
    this.stopKeepAlive = () => stream.cancel();
    this.timer = setTimeout(() => stream.write({ ID: leaseId }), (ttl * 1000) / 3);
  }

  private readonly stopKeepAlive: () => void;

  static async create(client: EtcdClient, ttlSeconds = 60): Promise<Session> {
    const granted = await client.leaseGrant({ TTL: ttlSeconds, ID: 0 });
    return new Session(client, granted.ID, Number(granted.TTL));
  }

  /** The lease ID as clientv3 writes it into key names: lowercase hex. */
  get leaseHex(): string {
    return BigInt(this.leaseId).toString(16);
  }

  /** Stops renewing and revokes the lease, which deletes every key held on it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.stopKeepAlive();
    await this.client.leaseRevoke({ ID: this.leaseId }).catch(() => undefined);
  }
}
