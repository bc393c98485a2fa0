import assert from 'node:assert/strict';
import { finalState, HistoryBuilder, watcher } from './history-builder';
import { checkLeases } from './lease-checker';

const none = {} as Record<string, never>;

/** Lease 7 (TTL 2 s) granted at t=0, kept alive at t=1000, key k attached at revision 2. */
function leased(): HistoryBuilder {
  const h = new HistoryBuilder();
  h.ok('lease-grant', '', { ttlSec: 2 }, { lease: '7' }, 0, 10);
  h.ok('put', 'k', { value: 'v', lease: '7' }, none, 20, 30, { revision: 2 });
  h.ok('lease-keepalive', '', { lease: '7' }, { ttlSec: 2 }, 1000, 1010);
  return h;
}

/** A watcher on `member` from revision 1 that saw the DELETEs at the given arrival times. */
function sawDeletes(id: number, member: string, atMs: number[]) {
  const w = watcher(id, member, 1, [['PUT', 'k', 'v', 2], ...atMs.map((_, i) => ['DELETE', 'k', '', 3 + i] as ['DELETE', string, string, number])], 3 + atMs.length);
  atMs.forEach((t, i) => (w.events[i + 1]!.atMs = t));
  return w;
}

describe('lease checker', () => {
  it('accepts a key deleted once on every member after its lease expired', () => {
    const h = { ops: leased().ops, watchers: [sawDeletes(0, 'm1', [3100]), sawDeletes(1, 'm2', [3200])], finals: [finalState('m1', 3, [])] };
    assert.deepEqual(checkLeases(h), []);
  });

  it('accepts a key deleted early when the lease was revoked', () => {
    const ops = leased();
    ops.ok('lease-revoke', '', { lease: '7' }, none, 1500, 1600, { revision: 3 });
    assert.deepEqual(checkLeases({ ops: ops.ops, watchers: [sawDeletes(0, 'm1', [1550])], finals: [finalState('m1', 3, [])] }), []);
  });

  it('rejects a key deleted twice', () => {
    const h = { ops: leased().ops, watchers: [sawDeletes(0, 'm1', [3100, 3200])], finals: [finalState('m1', 4, [])] };
    assert.match(checkLeases(h).join('\n'), /k \(lease 7\) was deleted 2 times, at revisions 3, 4/);
  });

  it('rejects a key deleted before its lease could expire (the keep-alive moved expiry to 3000)', () => {
    const h = { ops: leased().ops, watchers: [sawDeletes(0, 'm1', [2500])], finals: [finalState('m1', 3, [])] };
    assert.match(checkLeases(h).join('\n'), /k was deleted 500 ms before lease 7 could have expired/);
  });

  it('rejects a member that never saw the key go, and a key that outlives a revoke', () => {
    const ops = leased();
    ops.ok('lease-revoke', '', { lease: '7' }, none, 1500, 1600, { revision: 3 });
    const problems = checkLeases({ ops: ops.ops, watchers: [sawDeletes(0, 'm1', [])], finals: [finalState('m1', 2, [['k', 'v', 2, '7']])] }).join('\n');
    assert.match(problems, /k is still there at the end, though lease 7 was revoked/);
    assert.match(problems, /watcher 0 on m1: never saw k deleted, though lease 7 is gone/);
  });
});
