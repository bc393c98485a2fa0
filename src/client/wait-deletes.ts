import { prefixRangeEnd } from './key-ranges';
import type { EtcdClient } from './etcd-client';
import type { WatchResponse__Output } from '../generated/etcdserverpb/WatchResponse';

/** Resolves once `key` is deleted at or after revision `fromRevision` (a watch from there). */
export function waitDelete(client: EtcdClient, key: Buffer, fromRevision: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = client.watchStream();
    stream.on('data', (r: WatchResponse__Output) => {
      if (r.canceled || r.events.some((e) => e.type === 'DELETE')) {
        stream.cancel();
        resolve();
      }
    });
    stream.on('error', reject);
    stream.write({ create_request: { key, start_revision: fromRevision } });
  });
}

/**
 * clientv3 concurrency's waitDeletes: waits until no key under `prefix` was created at or before
 * `maxCreateRevision`, i.e. until everyone ahead in the queue has gone, newest first. Returns the
 * revision at which it found the queue ahead empty: when the wait ended, as a fencing token.
 */
export async function waitDeletes(client: EtcdClient, prefix: Buffer, maxCreateRevision: bigint): Promise<string> {
  for (;;) {
    const r = await client.range({
      key: prefix, range_end: prefixRangeEnd(prefix), max_create_revision: maxCreateRevision.toString(),
      sort_target: 'CREATE', sort_order: 'DESCEND', limit: 1,
    });
    const last = r.kvs[0];
    if (last === undefined) return r.header!.revision;
    await waitDelete(client, Buffer.from(last.key), r.header!.revision);
  }
}
