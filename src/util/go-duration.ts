const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Go's time.ParseDuration, in milliseconds: a sequence of decimal numbers each with a unit, such
 * as "300ms", "1.5h" or "2h45m"; "0" alone is zero. Etcd's duration flags are parsed this way.
 * Returns undefined for anything else.
 */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const m = /^([-+]?)((?:\d*\.?\d*(?:ns|us|µs|ms|s|m|h))+)$/.exec(text);
  if (m === null) return undefined;
  let ms = 0;
  for (const part of m[2]!.matchAll(/(\d*\.?\d*)(ns|us|µs|ms|s|m|h)/g)) {
    if (part[1] === '' || part[1] === '.') return undefined;
    ms += Number(part[1]) * UNIT_MS[part[2]!]!;
  }
  return m[1] === '-' ? -ms : ms;
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
