import type { History, Operation } from './history';
import { writeOf } from './writes';

/**
 * Revisions from response headers. They never go back: an operation invoked after another
 * completed (on any member: every read here is linearizable) answers from a revision at least as
 * high. Two acknowledged writes that changed a key never share a revision. And a read that
 * returns a value reports as its mod_revision the revision at which that value was acknowledged.
 */
export function checkRevisions(h: History): string[] {
  const problems: string[] = [];
  const ok = h.ops.filter((op): op is Operation & { revision: number } => op.outcome === 'ok' && op.revision !== undefined);
  const byCompletion = [...ok].sort((a, b) => a.completeMs - b.completeMs);
  const byInvocation = [...ok].sort((a, b) => a.invokeMs - b.invokeMs);
  let highest: Operation & { revision: number } | undefined;
  let i = 0;
  for (const op of byInvocation) {
    while (i < byCompletion.length && byCompletion[i]!.completeMs < op.invokeMs) {
      const done = byCompletion[i++]!;
      if (!highest || done.revision > highest.revision) highest = done;
    }
    if (highest && op.revision < highest.revision) {
      problems.push(`op ${op.id} (${op.kind} ${op.key} on ${op.member}) answered from revision ${op.revision}, `
        + `after op ${highest.id} on ${highest.member} had completed at revision ${highest.revision}`);
    }
  }
  const writtenAt = new Map<number, Operation>();
  const revisionOfValue = new Map<string, number>();
  for (const op of ok) {
    const w = writeOf(op);
    if (!w) continue;
    const other = writtenAt.get(op.revision);
    if (other) problems.push(`ops ${other.id} (${other.key}) and ${op.id} (${op.key}) were both acknowledged as writes at revision ${op.revision}`);
    writtenAt.set(op.revision, op);
    if (w.kind === 'PUT') revisionOfValue.set(`${w.key}=${w.value}`, op.revision);
  }
  for (const op of ok) {
    if (op.kind !== 'get' || op.output?.value == null) continue;
    const at = revisionOfValue.get(`${op.key}=${op.output.value}`);
    if (at !== undefined && at !== op.output.modRevision) {
      problems.push(`op ${op.id} read ${op.key}=${JSON.stringify(op.output.value)} with mod_revision ${op.output.modRevision}, but that value was written at revision ${at}`);
    }
  }
  return problems;
}
