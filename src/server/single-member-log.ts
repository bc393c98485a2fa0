import { LogEntry, LogStore } from '../storage/log-store';

/** Entries kept behind the applied index when the log is trimmed (etcd's snapshot catch-up entries). */
const CATCH_UP_ENTRIES = 5000;

/**
 * The ordering and durability step of a one-member cluster: proposals that arrive while an append
 * is in flight are grouped into the next one (one fsync for many writes), and each group is handed
 * to `commit` once durable. The Raft issue replaces this with the Ready loop over src/raft; the
 * entries, the log store and the applier stay as they are.
 */
export class SingleMemberLog {
  private pending: Buffer[] = [];
  private draining: Promise<void> | undefined;
  private firstIndex: number;

  constructor(
    private readonly store: LogStore,
    private lastIndex: number,
    private readonly commit: (entries: LogEntry[]) => Promise<void>,
    private readonly snapshotCount: number,
  ) {
    this.firstIndex = lastIndex + 1;
  }

  get lastLogIndex(): number {
    return this.lastIndex;
  }

  propose(data: Buffer): void {
    this.pending.push(data);
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  /** Resolves once every proposal so far is durable and committed. */
  async flush(): Promise<void> {
    while (this.draining !== undefined) await this.draining;
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const entries = this.pending.splice(0).map((data) => ({ index: ++this.lastIndex, term: 1, data }));
      await this.store.append(entries);
      await this.commit(entries);
      if (this.lastIndex - this.firstIndex > this.snapshotCount + CATCH_UP_ENTRIES) {
        this.firstIndex = this.lastIndex - CATCH_UP_ENTRIES;
        await this.store.compactBefore(this.firstIndex);
      }
    }
  }
}
