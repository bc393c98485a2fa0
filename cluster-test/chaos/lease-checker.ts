import type { History, LeaseId, Operation } from './history';
import { covers } from './watch-checker';

/**
 * Keys attached to leases (each written once, under its own name): on every watcher, a key's
 * DELETE comes at most once and never before its lease could have ended, that is before the lease
 * was revoked or its TTL ran out since the grant or the latest keep-alive that found it alive.
 * Once the lease is gone (revoked, or the key is absent at the end) every watcher complete to
 * the end saw that DELETE exactly once; a key of a revoked lease is not there at the end.
 */
export function checkLeases(h: History): string[] {
  const problems: string[] = [];
  const leases = leaseFacts(h.ops);
  const final = h.finals[0];
  const finalKeys = new Set(final?.kvs.map((kv) => kv.key));
  for (const put of h.ops) {
    if (put.kind !== 'put' || put.outcome !== 'ok' || (put.input.lease ?? '0') === '0') continue;
    const lease = leases.get(put.input.lease!);
    const key = put.key;
    if (!lease) {
      problems.push(`${key} was attached to lease ${put.input.lease}, which nobody was granted`);
      continue;
    }
    const gone = lease.revokedAt !== undefined || (final !== undefined && !finalKeys.has(key));
    if (lease.revokedAt !== undefined && finalKeys.has(key)) problems.push(`${key} is still there at the end, though lease ${lease.id} was revoked`);
    for (const w of h.watchers) {
      if (!covers(w.start, key) || w.start.startRevision > put.revision!) continue;
      const deletes = w.events.filter((e) => e.key === key && e.kind === 'DELETE');
      const name = `watcher ${w.start.watcher} on ${w.start.member}`;
      if (deletes.length > 1) problems.push(`${name}: ${key} (lease ${lease.id}) was deleted ${deletes.length} times, at revisions ${deletes.map((d) => d.revision).join(', ')}`);
      for (const d of deletes) {
        const revokedBefore = lease.revokeInvokedMs.some((t) => t <= d.atMs);
        if (!revokedBefore && d.atMs < lease.expiresNoSoonerThanMs) {
          problems.push(`${name}: ${key} was deleted ${Math.round(lease.expiresNoSoonerThanMs - d.atMs)} ms before lease ${lease.id} could have expired, and nobody revoked it`);
        }
      }
      const complete = w.end !== undefined && final !== undefined && w.end.upToRevision >= final.revision;
      if (gone && complete && deletes.length === 0) problems.push(`${name}: never saw ${key} deleted, though lease ${lease.id} is gone`);
    }
  }
  return problems;
}

interface LeaseFacts {
  id: LeaseId;
  /** No expiry can come earlier: TTL after the grant, or after a keep-alive that found it alive. */
  expiresNoSoonerThanMs: number;
  revokeInvokedMs: number[];
  /** When a revoke was acknowledged. */
  revokedAt: number | undefined;
}

function leaseFacts(ops: readonly Operation[]): Map<LeaseId, LeaseFacts> {
  const out = new Map<LeaseId, LeaseFacts & { ttlMs: number }>();
  for (const op of ops) {
    if (op.kind !== 'lease-grant' || op.outcome !== 'ok') continue;
    const ttlMs = op.input.ttlSec * 1000;
    out.set(op.output!.lease, { id: op.output!.lease, ttlMs, expiresNoSoonerThanMs: op.invokeMs + ttlMs, revokeInvokedMs: [], revokedAt: undefined });
  }
  for (const op of ops) {
    if (op.kind === 'lease-keepalive' && op.outcome === 'ok' && op.output!.ttlSec > 0) {
      const l = out.get(op.input.lease);
      if (l) l.expiresNoSoonerThanMs = Math.max(l.expiresNoSoonerThanMs, op.invokeMs + l.ttlMs);
    }
    if (op.kind === 'lease-revoke' && op.outcome !== 'failed') {
      const l = out.get(op.input.lease);
      if (!l) continue;
      l.revokeInvokedMs.push(op.invokeMs);
      if (op.outcome === 'ok') l.revokedAt = op.completeMs;
    }
  }
  return out;
}
