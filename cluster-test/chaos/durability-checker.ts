import type { History } from './history';
import { attemptedValues, writeOf } from './writes';

/**
 * Durability at the end of a run: every member holds the same data at the same revision; every
 * acknowledged write is still there, or was overwritten later (a higher mod_revision) or deleted
 * by a delete that may have happened; every acknowledged append is in its list; and every value
 * held was written by someone. A leased key that is gone is the lease checker's business.
 */
export function checkDurability(h: History): string[] {
  const problems: string[] = [];
  const [first, ...others] = h.finals;
  if (!first) return ['no final state was recorded'];
  for (const f of others) {
    if (f.revision !== first.revision || JSON.stringify(f.kvs) !== JSON.stringify(first.kvs)) {
      problems.push(`${f.member} ends at revision ${f.revision} with ${f.kvs.length} keys, ${first.member} at ${first.revision} with ${first.kvs.length}, or with other values`);
    }
  }
  const final = new Map(first.kvs.map((kv) => [kv.key, kv]));
  const mayBeDeleted = new Set(h.ops.filter((op) => op.kind === 'delete' && op.outcome !== 'failed').map((op) => op.key));
  for (const op of h.ops) {
    const w = writeOf(op);
    if (!w || w.kind !== 'PUT' || op.revision === undefined) continue;
    const kv = final.get(w.key);
    const what = `op ${op.id} (${op.kind} ${w.key}=${JSON.stringify(w.value)}, acknowledged at revision ${op.revision})`;
    if (!kv) {
      const leased = op.kind === 'put' && (op.input.lease ?? '0') !== '0';
      if (!leased && !mayBeDeleted.has(w.key)) problems.push(`${what} is gone at the end, and nobody deleted ${w.key}`);
    } else if (kv.modRevision < op.revision) {
      problems.push(`${what} is lost: ${w.key} ends at revision ${kv.modRevision} with ${JSON.stringify(kv.value)}`);
    } else if (kv.modRevision === op.revision && kv.value !== w.value) {
      problems.push(`${what} ends with another value at its revision: ${JSON.stringify(kv.value)}`);
    }
    if (op.kind === 'append' && !(kv?.value.split(',') ?? []).includes(op.input.item)) {
      problems.push(`${what}: item ${op.input.item} is not in the final list ${JSON.stringify(kv?.value ?? null)}`);
    }
  }
  const attempted = attemptedValues(h.ops);
  for (const kv of first.kvs) {
    if (!attempted.get(kv.key)?.has(kv.value)) problems.push(`${first.member} ends with ${kv.key}=${JSON.stringify(kv.value)}, which nobody wrote`);
  }
  return problems;
}
