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
