/**
 * Go's time.Duration text, which etcd's and etcdctl's flags take (`--dial-timeout=2s`,
 * `--command-timeout=1m30s`) and etcdctl prints (`took = 1.457676ms`).
 */

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration such as 500ms, 2s or 1m30s into milliseconds; undefined if it is not one. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    end = re.lastIndex;
  }
  return end === text.length && end > 0 ? total : undefined;
}

/** Go's Duration.String() of a span given in nanoseconds: "1.457676ms", "2.5s", "1m0.5s". */
export function formatGoDuration(nanos: bigint): string {
  if (nanos === 0n) return '0s';
  const trim = (whole: bigint, frac: bigint, digits: number) => {
    const f = frac.toString().padStart(digits, '0').replace(/0+$/, '');
    return f === '' ? whole.toString() : `${whole}.${f}`;
  };
  if (nanos < 1000n) return `${nanos}ns`;
  if (nanos < 1_000_000n) return `${trim(nanos / 1000n, nanos % 1000n, 3)}µs`;
  if (nanos < 1_000_000_000n) return `${trim(nanos / 1_000_000n, nanos % 1_000_000n, 6)}ms`;
  const seconds = `${trim((nanos / 1_000_000_000n) % 60n, nanos % 1_000_000_000n, 9)}s`;
  const minutes = nanos / 60_000_000_000n;
  if (minutes === 0n) return seconds;
  const hours = minutes / 60n;
  return hours === 0n ? `${minutes}m${seconds}` : `${hours}h${minutes % 60n}m${seconds}`;
}
