/** A half-open key range [start, end); end null: every key from start on. */
export interface KeyInterval {
  start: Buffer;
  end: Buffer | null;
}

const ZERO = Buffer.from([0]);

/** etcd's key and range_end: an empty end is the key alone, "\0" everything from the key on. */
export function keyInterval(key: Buffer, rangeEnd: Buffer): KeyInterval {
  if (rangeEnd.length === 0) return { start: key, end: Buffer.concat([key, ZERO]) };
  if (rangeEnd.equals(ZERO)) return { start: key, end: null };
  return { start: key, end: rangeEnd };
}

/**
 * Whether the union of `granted` holds every key of `wanted`. An empty or inverted `wanted` is
 * held by nothing, as etcd's interval tree contains no such interval: only root may ask for one.
 */
export function covers(granted: KeyInterval[], wanted: KeyInterval): boolean {
  if (wanted.end !== null && Buffer.compare(wanted.start, wanted.end) >= 0) return false;
  // Walk the grants in start order, extending how far from wanted.start is held without a gap.
  let reached = wanted.start;
  for (const g of [...granted].sort((a, b) => Buffer.compare(a.start, b.start))) {
    if (Buffer.compare(g.start, reached) > 0) return false;
    if (g.end === null) return true;
    if (Buffer.compare(g.end, reached) > 0) reached = g.end;
    if (wanted.end !== null && Buffer.compare(reached, wanted.end) >= 0) return true;
  }
  return false;
}
