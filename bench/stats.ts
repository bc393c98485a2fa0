/** Latency of one row, in milliseconds. */
export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/**
 * Exact percentiles from every sample. A 5 s row at ~10k req/s is ~50k samples: sorting them costs
 * a few milliseconds after the run, so a histogram's bucketing error would buy nothing here.
 */
export function summarize(samplesMs: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(samplesMs).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    meanMs: sorted.length === 0 ? NaN : sum / sorted.length,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    p999Ms: percentile(sorted, 99.9),
    maxMs: sorted.length === 0 ? NaN : sorted[sorted.length - 1]!,
  };
}

/**
 * Nearest-rank percentile of ascending samples: the smallest sample with at least p % of all samples
 * at or below it. It is always a latency that really happened, never an interpolation. NaN if empty.
 */
export function percentile(sortedAscending: Float64Array, p: number): number {
  const n = sortedAscending.length;
  if (n === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  return sortedAscending[Math.min(rank, n) - 1]!;
}
