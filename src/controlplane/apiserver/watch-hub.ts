import type { ClientDuplexStream } from '@grpc/grpc-js';
import { prefixRangeEnd } from '../../client/key-ranges';
import type { WatchRequest } from '../../generated/etcdserverpb/WatchRequest';
import type { WatchResponse__Output } from '../../generated/etcdserverpb/WatchResponse';
import type { EtcdEndpoints } from './etcd-endpoints';
import { decode } from './registry';
import type { KubeObject } from '../kube-object';
import { expired } from './status-error';
import type { ApiError } from './status-error';

/** A change to one object, as the store reported it; `previous` is the object before (absent for a create). */
export interface StoreEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  previous?: KubeObject;
  revision: bigint;
}

export interface Subscriber {
  /** Events of one store revision arrive together, in revision order. */
  events(evs: StoreEvent[]): void;
  /** The subscription has ended (410 when its start was compacted); nothing follows. */
  failed(err: ApiError): void;
}

/** Recent events kept so a watcher starting a little in the past needs no store watch of its own. */
const WINDOW = 5000;

interface Subscription { sub: Subscriber; lastRev: bigint }

/**
 * One store watch on a key prefix (a resource), shared by every HTTP watcher of it: the etcd watch
 * fan-out that the real apiserver's watch cache gives. A window of recent events serves watchers
 * that start at an older revision; one older than the window restarts the store watch from there
 * (each watcher skips what it has already had). A lost member moves the watch to the next one,
 * from the last revision delivered, so nothing is missed or repeated.
 */
export class WatchHub {
  private readonly subs = new Set<Subscription>();
  private stream: ClientDuplexStream<WatchRequest, WatchResponse__Output> | undefined;
  private buffer: StoreEvent[] = [];
  /** Every event after this revision is in `buffer` (or still on its way from the store). */
  private windowStart = -1n;
  /** The revision of the last event received (or where the store watch started). */
  private lastRev = -1n;

  constructor(private readonly etcd: EtcdEndpoints, private readonly prefix: string) {}

  /** Delivers every event after `fromRev` to `sub` until unsubscribed; returns the unsubscribe. */
  subscribe(fromRev: bigint, sub: Subscriber): () => void {
    const s: Subscription = { sub, lastRev: fromRev };
    this.subs.add(s);
    if (this.stream !== undefined && fromRev >= this.windowStart) {
      this.deliver(s, this.buffer.filter((e) => e.revision > fromRev));
    } else {
      this.open(this.minLastRev());
    }
    return () => {
      this.subs.delete(s);
      if (this.subs.size === 0) this.close();
    };
  }

  close(): void {
    const stream = this.stream;
    this.stream = undefined;
    stream?.removeAllListeners();
    stream?.on('error', () => {}); // cancellation reports itself as an error; nobody needs it
    stream?.cancel();
    this.buffer = [];
  }

  private minLastRev(): bigint {
    let min = -1n;
    for (const s of this.subs) if (min < 0n || s.lastRev < min) min = s.lastRev;
    return min;
  }

  /** (Re)starts the store watch at the revision after `from`. */
  private open(from: bigint): void {
    this.close();
    this.windowStart = from;
    this.lastRev = from;
    const client = this.etcd.client;
    const stream = client.watchStream();
    this.stream = stream;
    const key = Buffer.from(this.prefix);
    stream.on('data', (r: WatchResponse__Output) => this.onResponse(r));
    const lost = () => {
      if (this.stream !== stream) return;
      // The member is gone: go on from the next one where this stream left off.
      this.etcd.failedOver(client);
      const { lastRev, buffer, windowStart } = this;
      this.open(lastRev);
      this.buffer = buffer;
      this.windowStart = windowStart;
    };
    // A member going away may end the stream with an error or, shutting down cleanly, without one.
    stream.on('error', lost);
    stream.on('end', lost);
    stream.write({ create_request: { key, range_end: prefixRangeEnd(key), start_revision: (from + 1n).toString(), prev_kv: true } });
  }

  private onResponse(r: WatchResponse__Output): void {
    if (r.canceled) {
      const compacted = BigInt(r.compact_revision || '0');
      // Watchers whose start is gone must re-list; the others go on from the compacted revision.
      for (const s of [...this.subs]) {
        if (s.lastRev + 1n < compacted) {
          this.subs.delete(s);
          s.sub.failed(expired(`too old resource version: ${s.lastRev} (${compacted})`));
        }
      }
      if (this.subs.size === 0) this.close();
      else this.open(this.minLastRev());
      return;
    }
    if (r.events.length === 0) return;
    const batch: StoreEvent[] = [];
    for (const e of r.events) {
      const kv = e.kv!;
      const revision = BigInt(kv.mod_revision);
      const previous = e.prev_kv ? decode(e.prev_kv) : undefined;
      if (e.type === 'DELETE') {
        if (previous === undefined) continue; // a delete without the old value cannot be told to clients
        // A deleted object's resourceVersion is the revision of its deletion.
        batch.push({ type: 'DELETED', object: { ...previous, metadata: { ...previous.metadata, resourceVersion: kv.mod_revision } }, previous, revision });
      } else {
        const type = kv.create_revision === kv.mod_revision ? 'ADDED' : 'MODIFIED';
        batch.push({ type, object: decode(kv), ...(previous ? { previous } : {}), revision });
      }
    }
    const fresh = batch.filter((e) => e.revision > this.lastRev);
    for (const e of fresh) this.buffer.push(e);
    if (this.buffer.length > WINDOW) {
      const dropped = this.buffer.splice(0, this.buffer.length - WINDOW);
      this.windowStart = dropped[dropped.length - 1]!.revision;
    }
    if (fresh.length > 0) this.lastRev = fresh[fresh.length - 1]!.revision;
    for (const s of this.subs) this.deliver(s, batch);
  }

  private deliver(s: Subscription, evs: StoreEvent[]): void {
    const fresh = evs.filter((e) => e.revision > s.lastRev);
    if (fresh.length === 0) return;
    s.lastRev = fresh[fresh.length - 1]!.revision;
    s.sub.events(fresh);
  }
}

/** One hub per key prefix, created when first watched. */
export class WatchHubs {
  private readonly hubs = new Map<string, WatchHub>();

  constructor(private readonly etcd: EtcdEndpoints) {}

  forPrefix(prefix: string): WatchHub {
    let hub = this.hubs.get(prefix);
    if (hub === undefined) {
      hub = new WatchHub(this.etcd, prefix);
      this.hubs.set(prefix, hub);
    }
    return hub;
  }

  close(): void {
    for (const h of this.hubs.values()) h.close();
  }
}
