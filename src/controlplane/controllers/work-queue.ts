import type { Logger } from '../../util/logger';

/**
 * client-go's work queue, small: keys to sync, each at most once in the queue and never synced by
 * two workers at once; a sync that throws is retried after a doubling delay. Level-triggered: a
 * sync reads the current state, so a key queued many times is synced once.
 */
export class WorkQueue {
  private readonly queued = new Set<string>();
  private readonly retries = new Map<string, number>();
  private running = false;
  private stopped = false;

  constructor(private readonly name: string, private readonly sync: (key: string) => Promise<void>, private readonly log: Logger) {}

  add(key: string): void {
    if (this.stopped) return;
    this.queued.add(key);
    if (!this.running) void this.drain();
  }

  /** Queues `key` again after `ms`, unless it is queued meanwhile. */
  addAfter(key: string, ms: number): void {
    setTimeout(() => this.add(key), ms).unref();
  }

  stop(): void {
    this.stopped = true;
    this.queued.clear();
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.queued.size > 0 && !this.stopped) {
      const key = this.queued.values().next().value as string;
      this.queued.delete(key);
      try {
        await this.sync(key);
        this.retries.delete(key);
      } catch (err) {
        const n = (this.retries.get(key) ?? 0) + 1;
        this.retries.set(key, n);
        const delay = Math.min(100 * 2 ** n, 10_000);
        this.log.warn('sync failed; will retry', { controller: this.name, key, error: (err as Error).message, 'retry-in-ms': delay });
        this.addAfter(key, delay);
      }
    }
    this.running = false;
  }
}
