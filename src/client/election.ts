import type { EtcdClient } from './etcd-client';
import { prefixRangeEnd } from './key-ranges';
import type { Session } from './session';
import { waitDeletes } from './wait-deletes';
import type { KeyValue__Output } from '../generated/mvccpb/KeyValue';
import type { ResponseHeader__Output } from '../generated/etcdserverpb/ResponseHeader';
import type { WatchResponse__Output } from '../generated/etcdserverpb/WatchResponse';

/** A leader as an observer sees it: the proposal key and value, and the revision it was seen at. */
export interface LeaderSeen {
  header: ResponseHeader__Output;
  kv: KeyValue__Output;
}

/**
 * clientv3's concurrency.Election: candidates put `<name>/<lease>` = proposal; the oldest key is the
 * leader. Campaign resolves once this candidate is the leader.
 */
export class Election {
  readonly prefix: Buffer;

  constructor(private readonly client: EtcdClient, name: string) {
    this.prefix = Buffer.from(`${name}/`);
  }

  /** Campaigns with `session`'s lease; resolves with this candidate's key once it leads. */
  async campaign(session: Session, proposal: string): Promise<Buffer> {
    const key = Buffer.from(`${this.prefix.toString('latin1')}${session.leaseHex}`, 'latin1');
    const value = Buffer.from(proposal);
    const resp = await this.client.txn({
      compare: [{ target: 'CREATE', result: 'EQUAL', key, create_revision: 0 }],
      success: [{ request_put: { key, value, lease: session.leaseId } }],
      failure: [{ request_range: { key } }],
    });
    let rev = resp.header!.revision;
    if (!resp.succeeded) {
      const existing = resp.responses[0]!.response_range!.kvs[0]!;
      rev = existing.create_revision;
      if (!Buffer.from(existing.value).equals(value)) {
        // Already campaigning with another value: proclaim the new one.
        await this.client.txn({
          compare: [{ target: 'CREATE', result: 'EQUAL', key, create_revision: rev }],
          success: [{ request_put: { key, value, lease: session.leaseId } }],
        });
      }
    }
    await waitDeletes(this.client, this.prefix, BigInt(rev) - 1n);
    return key;
  }

  /** Gives up leadership (or candidacy) by deleting the candidate's key. */
  async resign(key: Buffer): Promise<void> {
    await this.client.deleteRange({ key });
  }

  /**
   * Calls `onLeader` with each new leader (key or value changed) until `stop` resolves; ends with an
   * error if the observation is cut off, as clientv3's Observe channel closing.
   */
  async observe(onLeader: (seen: LeaderSeen) => void, stop: Promise<void>): Promise<void> {
    let last: KeyValue__Output | undefined;
    let stopped = false;
    void stop.then(() => (stopped = true));
    while (!stopped) {
      const r = await this.client.range({ key: this.prefix, range_end: prefixRangeEnd(this.prefix), sort_target: 'CREATE', sort_order: 'ASCEND', limit: 1 });
      let seen: LeaderSeen | undefined = r.kvs[0] && { header: r.header!, kv: r.kvs[0] };
      // No candidate yet: wait for the first key under the prefix, then its deletion or a change.
      await this.watch(this.prefix, prefixRangeEnd(this.prefix), BigInt(r.header!.revision) + 1n, stop, (w) => {
        for (const e of w.events) {
          if (seen === undefined && e.type === 'PUT') seen = { header: w.header!, kv: e.kv! };
          else if (seen && Buffer.from(e.kv!.key).equals(Buffer.from(seen.kv.key))) {
            if (e.type === 'DELETE') return true;
            seen = { header: w.header!, kv: e.kv! };
          }
          if (seen && (!last || !Buffer.from(seen.kv.key).equals(Buffer.from(last.key)) || !Buffer.from(seen.kv.value).equals(Buffer.from(last.value)))) {
            last = seen.kv;
            onLeader(seen);
          }
        }
        return false;
      }, () => {
        if (seen && !last) {
          last = seen.kv;
          onLeader(seen);
        }
      });
      last = undefined;
    }
  }

  /** Watches [key, end) from `rev`; `onEvents` returning true ends the watch. */
  private watch(key: Buffer, end: Buffer, rev: bigint, stop: Promise<void>, onEvents: (w: WatchResponse__Output) => boolean, onCreated: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const stream = this.client.watchStream();
      const finish = () => {
        stream.cancel();
        resolve();
      };
      void stop.then(finish);
      stream.on('data', (w: WatchResponse__Output) => {
        if (w.created) onCreated();
        if (w.canceled) return reject(new Error('elect: observer lost'));
        if (onEvents(w)) finish();
      });
      stream.on('error', () => reject(new Error('elect: observer lost')));
      stream.write({ create_request: { key, range_end: end, start_revision: rev.toString() } });
    });
  }
}
