import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the metrics read from the member when scraped. */
export interface MetricsSource {
  leader(): bigint;
  memberId: bigint;
  committedIndex(): number;
  appliedIndex(): number;
  pendingProposals(): number;
  currentRevision(): number;
  dbSize(): Promise<number>;
  dbSizeInUse(): Promise<number>;
  /** The backend quota in force, in bytes. */
  quotaBytes: number;
  watchers(): number;
  leaseTotals(): { granted: number; revoked: number; renewed: number };
}

/**
 * The member's Prometheus metrics, under etcd's names and meanings, on a registry of its own
 * (never the global one, so several members can live in one process).
 */
export class ServerMetrics {
  readonly leaderChanges: Counter;
  readonly proposalsFailed: Counter;
  readonly walFsyncSeconds: Histogram;
  readonly applySeconds: Histogram;
  readonly backendCommitSeconds: Histogram;
  readonly defragSeconds: Histogram;

  constructor(readonly registry: Registry, source: MetricsSource) {
    const registers = [registry];
    new Gauge({
      name: 'etcd_server_has_leader', help: 'Whether or not a leader exists. 1 is existence, 0 is not.', registers,
      collect() { this.set(source.leader() === 0n ? 0 : 1); },
    });
    new Gauge({
      name: 'etcd_server_is_leader', help: 'Whether or not this member is a leader. 1 if is, 0 otherwise.', registers,
      collect() { this.set(source.leader() === source.memberId ? 1 : 0); },
    });
    this.leaderChanges = new Counter({
      name: 'etcd_server_leader_changes_seen_total', help: 'The number of leader changes seen.', registers,
    });
    new Gauge({
      name: 'etcd_server_proposals_committed_total', help: 'The total number of consensus proposals committed.', registers,
      collect() { this.set(source.committedIndex()); },
    });
    new Gauge({
      name: 'etcd_server_proposals_applied_total', help: 'The total number of consensus proposals applied.', registers,
      collect() { this.set(source.appliedIndex()); },
    });
    new Gauge({
      name: 'etcd_server_proposals_pending', help: 'The current number of pending proposals to commit.', registers,
      collect() { this.set(source.pendingProposals()); },
    });
    this.proposalsFailed = new Counter({
      name: 'etcd_server_proposals_failed_total', help: 'The total number of failed proposals seen.', registers,
    });
    // etcd's buckets: 1 ms doubling to about 8 s.
    const buckets = Array.from({ length: 14 }, (_, i) => 0.001 * 2 ** i);
    this.walFsyncSeconds = new Histogram({
      name: 'etcd_disk_wal_fsync_duration_seconds', help: 'The latency distributions of fsync called by WAL.', buckets, registers,
    });
    this.applySeconds = new Histogram({
      name: 'etcd_server_apply_duration_seconds', help: 'The latency distributions of v2 apply called by backend.', buckets, registers,
    });
    new Gauge({
      name: 'etcd_mvcc_db_total_size_in_bytes', help: 'Total size of the underlying database physically allocated in bytes.', registers,
      async collect() { this.set(await source.dbSize()); },
    });
    new Gauge({
      name: 'etcd_mvcc_db_total_size_in_use_in_bytes', help: 'Total size of the underlying database logically in use in bytes.', registers,
      async collect() { this.set(await source.dbSizeInUse()); },
    });
    new Gauge({
      name: 'etcd_server_quota_backend_bytes', help: 'Current backend storage quota size in bytes.', registers,
      collect() { this.set(source.quotaBytes); },
    });
    this.backendCommitSeconds = new Histogram({
      name: 'etcd_disk_backend_commit_duration_seconds', help: 'The latency distributions of commit called by backend.', buckets, registers,
    });
    // etcd's buckets: 100 ms doubling to about 400 s.
    this.defragSeconds = new Histogram({
      name: 'etcd_disk_backend_defrag_duration_seconds', help: 'The latency distribution of backend defragmentation.', registers,
      buckets: Array.from({ length: 13 }, (_, i) => 0.1 * 2 ** i),
    });
    new Gauge({
      name: 'etcd_debugging_mvcc_watcher_total', help: 'Total number of watchers.', registers,
      collect() { this.set(source.watchers()); },
    });
    // Counters kept by the lessor, read when scraped.
    for (const kind of ['granted', 'revoked', 'renewed'] as const) {
      new Counter({
        name: `etcd_debugging_lease_${kind}_total`, help: `The total number of ${kind} leases.`, registers,
        collect() {
          this.reset();
          this.inc(source.leaseTotals()[kind]);
        },
      });
    }
    new Gauge({
      name: 'etcd_debugging_mvcc_current_revision', help: 'The current revision of store.', registers,
      collect() { this.set(source.currentRevision()); },
    });
  }
}

/** Seconds since `startNs` (from process.hrtime.bigint()). */
export function secondsSince(startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs) / 1e9;
}
