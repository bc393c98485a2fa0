import type { Operation } from './history';

/** A change an operation made to its key, as the watch event it must have produced. */
export interface KeyWrite {
  key: string;
  kind: 'PUT' | 'DELETE';
  /** The stored value after the write ('' for a DELETE). */
  value: string;
}

/**
 * The change `op` made to its key, if it made one: puts, successful compare-and-sets and appends,
 * deletes of a present key. With `assumeApplied`, unknown ops answer as if they had applied.
 */
export function writeOf(op: Operation, assumeApplied = false): KeyWrite | undefined {
  if (op.outcome === 'failed' || (op.outcome === 'unknown' && !assumeApplied)) return undefined;
  const applied = (succeeded: boolean | undefined) => op.outcome === 'unknown' || succeeded === true;
  switch (op.kind) {
    case 'put': return { key: op.key, kind: 'PUT', value: op.input.value };
    case 'cas': return applied(op.output?.succeeded) ? { key: op.key, kind: 'PUT', value: op.input.value } : undefined;
    case 'append':
      if (!applied(op.output?.succeeded)) return undefined;
      return { key: op.key, kind: 'PUT', value: op.input.basis === null ? op.input.item : `${op.input.basis},${op.input.item}` };
    case 'delete': return op.outcome === 'unknown' || op.output?.deleted === 1 ? { key: op.key, kind: 'DELETE', value: '' } : undefined;
    default: return undefined;
  }
}

/** Every value some op may have stored, per key, acknowledged or not. */
export function attemptedValues(ops: readonly Operation[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const op of ops) {
    const w = writeOf(op, true);
    if (!w || w.kind !== 'PUT') continue;
    let set = out.get(w.key);
    if (!set) out.set(w.key, (set = new Set()));
    set.add(w.value);
  }
  return out;
}
