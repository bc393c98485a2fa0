import type { EtcdClient } from './etcd-client';
import { prefixRangeEnd } from './key-ranges';
import type { Session } from './session';
import { waitDeletes } from './wait-deletes';

/**
 * clientv3's concurrency.Mutex: each contender puts `<name>/<lease>` on its session's lease; the key
 * with the lowest create revision holds the lock, the others wait for the keys before theirs to go.
 */
export class Mutex {
  readonly prefix: Buffer;
  readonly key: Buffer;
  /** The header revision at which the lock was taken. */
  revision = '0';

  constructor(private readonly client: EtcdClient, session: Session, name: string) {
    this.prefix = Buffer.from(`${name}/`);
    this.key = Buffer.from(`${name}/${session.leaseHex}`);
    this.lease = session.leaseId;
  }

  private readonly lease: string;

  async lock(): Promise<void> {
    const owner = { request_range: { key: this.prefix, range_end: prefixRangeEnd(this.prefix), sort_target: 'CREATE' as const, sort_order: 'ASCEND' as const, limit: 1 } };
    const resp = await this.client.txn({
      compare: [{ target: 'CREATE', result: 'EQUAL', key: this.key, create_revision: 0 }],
      success: [{ request_put: { key: this.key, value: Buffer.alloc(0), lease: this.lease } }, owner],
      failure: [{ request_range: { key: this.key } }, owner],
    });
    let myRev = resp.header!.revision;
    if (!resp.succeeded) myRev = resp.responses[0]!.response_range!.kvs[0]!.create_revision;
    const first = resp.responses[1]!.response_range!.kvs[0];
    this.revision = resp.header!.revision;
    if (first === undefined || first.create_revision === myRev) return;
    try {
      // As clientv3: the lock's revision is when it was had, not when it was asked for.
      this.revision = await waitDeletes(this.client, this.prefix, BigInt(myRev) - 1n);
    } catch (err) {
      await this.unlock();
      throw err;
    }
  }

  async unlock(): Promise<void> {
    await this.client.deleteRange({ key: this.key });
  }
}
