import { CompactedError } from '../mvcc/errors';
import { Logger } from '../util/logger';

/** etcd's --auto-compaction-mode with its parsed --auto-compaction-retention. */
export type AutoCompaction =
  | { mode: 'periodic'; retentionMs: number }
  /** `checkIntervalMs` is etcd's fixed 5 minutes, a field only so tests can shorten it. */
  | { mode: 'revision'; retention: number; checkIntervalMs: number };

/** etcd's revision compactor looks every 5 minutes. */
export const REVISION_CHECK_INTERVAL_MS = 5 * 60_000;
const HOUR_MS = 3_600_000;

export interface AutoCompactorDeps {
  /** Only the leader compacts; the others keep watching, as etcd pauses its compactor. */
  isLeader(): boolean;
  currentRevision(): number;
  compact(revision: number): Promise<unknown>;
  log: Logger;
}

/**
 * etcd's v3compactor. Periodic: remember the revision every retention/10 (at most every 6 minutes)
 * and, once a retention has passed since the last success (then every min(retention, 1h)),
 * compact to the revision seen one retention ago. Revision: every check, keep the last
 * `retention` revisions. A revision already compacted counts as done.
 */
export class AutoCompactor {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(cfg: AutoCompaction, private readonly d: AutoCompactorDeps) {
    if (cfg.mode === 'periodic') this.runPeriodic(cfg.retentionMs);
    else this.runRevision(cfg.retention, cfg.checkIntervalMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private runPeriodic(retentionMs: number): void {
    const compactInterval = Math.min(retentionMs, HOUR_MS);
    const retryInterval = compactInterval / 10;
    const retentions = Math.floor(retentionMs / retryInterval) + 1;
    const revs: number[] = [];
    let lastSuccess = Date.now();
    let lastRevision = 0;
    // The first compaction waits a whole retention; later ones come every compactInterval.
    let baseInterval = retentionMs;
    const step = async () => {
      const rev = revs[0]!;
      if (!this.d.isLeader() || Date.now() - lastSuccess < baseInterval || rev === lastRevision) return;
      baseInterval = compactInterval;
      if (await this.compact(rev, { 'compact-period': `${retentionMs}ms` })) {
        lastRevision = rev;
        lastSuccess = Date.now();
      }
    };
    const loop = () => {
      revs.push(this.d.currentRevision());
      if (revs.length > retentions) revs.shift();
      this.after(retryInterval, async () => {
        await step();
        loop();
      });
    };
    loop();
  }

  private runRevision(retention: number, checkIntervalMs: number): void {
    let prev = 0;
    const loop = () => this.after(checkIntervalMs, async () => {
      const rev = this.d.currentRevision() - retention;
      if (this.d.isLeader() && rev > 0 && rev !== prev && (await this.compact(rev, { 'revision-retention': retention }))) prev = rev;
      loop();
    });
    loop();
  }

  private after(ms: number, fn: () => Promise<void>): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void fn(), ms);
  }

  /** True when the store is compacted at `rev` (by us or before). */
  private async compact(rev: number, fields: Record<string, unknown>): Promise<boolean> {
    this.d.log.info('starting auto compaction', { revision: rev, ...fields });
    try {
      await this.d.compact(rev);
      this.d.log.info('completed auto compaction', { revision: rev, ...fields });
      return true;
    } catch (err) {
      if (err instanceof CompactedError) return true;
      this.d.log.warn('failed auto compaction', { revision: rev, ...fields, error: String(err) });
      return false;
    }
  }
}
