import type { KubeObject } from '../kube-object';
import { isExpired } from './kube-api-error';
import type { KubeClient, KubeWatch, WatchEvent } from './kube-client';

export interface InformerHandlers {
  added?(object: KubeObject): void;
  updated?(object: KubeObject, previous: KubeObject): void;
  deleted?(object: KubeObject): void;
}

export interface InformerOptions {
  /** Query of the list and the watch: labelSelector, fieldSelector. */
  query?: Record<string, string>;
  /** Waits between attempts after a failed list or watch, doubling up to `maxRetryMs`. */
  retryMs?: number;
  maxRetryMs?: number;
  /** Told of each failed list or watch before the retry; the informer itself never gives up. */
  onError?(err: unknown): void;
}

/** `namespace/name`, or `name` for an object outside namespaces: the informer's cache key. */
export function objectKey(o: KubeObject): string {
  const ns = o.metadata?.namespace;
  return ns ? `${ns}/${o.metadata.name}` : o.metadata.name;
}

/**
 * A cache of one collection kept current by list-then-watch, like client-go's informer: it lists,
 * watches from the list's resourceVersion, resumes a watch that ends from the last revision it saw,
 * and lists again (telling handlers what changed meanwhile) when that revision has been compacted.
 * Handlers run in event order; the cache already holds the new state when they run.
 */
export class Informer {
  private readonly cache = new Map<string, KubeObject>();
  private watch: KubeWatch | undefined;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private resourceVersion = '';
  private readonly synced: Promise<void>;
  private markSynced!: () => void;

  constructor(
    private readonly client: KubeClient,
    private readonly path: string,
    private readonly handlers: InformerHandlers,
    private readonly options: InformerOptions = {},
  ) {
    this.synced = new Promise((resolve) => (this.markSynced = resolve));
  }

  /** Starts listing and watching; `hasSynced` resolves after the first list is in the cache. */
  start(): void {
    void this.run(this.options.retryMs ?? 200);
  }

  hasSynced(): Promise<void> {
    return this.synced;
  }

  get(key: string): KubeObject | undefined {
    return this.cache.get(key);
  }

  list(): KubeObject[] {
    return [...this.cache.values()];
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.watch?.close();
  }

  private async run(retryMs: number): Promise<void> {
    try {
      if (this.resourceVersion === '') await this.relist();
      if (this.stopped) return;
      let expired = false;
      this.watch = await this.client.watch(this.path, { ...this.options.query, resourceVersion: this.resourceVersion, allowWatchBookmarks: 'true' }, (ev) => {
        if (this.apply(ev)) expired = true;
      });
      if (this.stopped) this.watch.close();
      await this.watch.ended;
      if (expired) this.resourceVersion = '';
      retryMs = this.options.retryMs ?? 200; // a watch that was accepted resets the back-off
    } catch (err) {
      if (this.stopped) return;
      if (isExpired(err)) this.resourceVersion = '';
      this.options.onError?.(err);
      retryMs = Math.min(retryMs * 2, this.options.maxRetryMs ?? 5000);
    }
    if (this.stopped) return;
    this.retryTimer = setTimeout(() => void this.run(retryMs), this.resourceVersion === '' ? retryMs : 0);
  }

  /** Lists the collection and reconciles the cache with it, telling the handlers the difference. */
  private async relist(): Promise<void> {
    const list = await this.client.list(this.path, this.options.query ?? {});
    if (this.stopped) return;
    const seen = new Set<string>();
    for (const o of list.items) {
      const key = objectKey(o);
      seen.add(key);
      this.put(key, o);
    }
    for (const [key, old] of this.cache) {
      if (seen.has(key)) continue;
      this.cache.delete(key);
      this.handlers.deleted?.(old);
    }
    this.resourceVersion = list.resourceVersion;
    this.markSynced();
  }

  /** Applies one watch event; true when it says the watch's start has been compacted (list again). */
  private apply(ev: WatchEvent): boolean {
    if (ev.type === 'ERROR') return ev.object?.code === 410;
    const rv = ev.object?.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (ev.type === 'BOOKMARK') return false;
    const key = objectKey(ev.object);
    if (ev.type === 'DELETED') {
      this.cache.delete(key);
      this.handlers.deleted?.(ev.object);
    } else {
      this.put(key, ev.object);
    }
    return false;
  }

  private put(key: string, o: KubeObject): void {
    const old = this.cache.get(key);
    if (old?.metadata?.resourceVersion === o.metadata?.resourceVersion) return;
    this.cache.set(key, o);
    if (old === undefined) this.handlers.added?.(o);
    else this.handlers.updated?.(o, old);
  }
}
