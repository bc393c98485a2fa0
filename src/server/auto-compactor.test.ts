import assert from 'node:assert/strict';
import { startInProcessMember, InProcessMember } from '../cmd/in-process-member';
import { CompactedError } from '../mvcc/errors';
import { eventually } from '../util/eventually';
import { silentLogger } from '../util/logger';
import { AutoCompaction, AutoCompactor } from './auto-compactor';

/** A store whose revision grows by one every millisecond, and a record of compactions. */
function fakeStore(leader = true) {
  const started = Date.now();
  const s = {
    leader,
    compacted: [] as Array<{ rev: number; at: number }>,
    compactedRev: 0,
    deps: {
      isLeader: () => s.leader,
      currentRevision: () => Date.now() - started + 1,
      compact: async (rev: number) => {
        if (rev <= s.compactedRev) throw new CompactedError();
        s.compactedRev = rev;
        s.compacted.push({ rev, at: Date.now() - started });
      },
      log: silentLogger,
    },
  };
  return s;
}

describe('AutoCompactor (etcd v3compactor)', function () {
  this.timeout(20_000);
  let compactor: AutoCompactor | undefined;
  afterEach(() => compactor?.stop());

  it('periodic: waits one retention, then compacts to the revision seen a retention earlier, every retention', async () => {
    const s = fakeStore();
    compactor = new AutoCompactor({ mode: 'periodic', retentionMs: 300 }, s.deps);
    await eventually('two compactions', () => s.compacted.length >= 2, 5000, 5);
    const [first, second] = s.compacted as [{ rev: number; at: number }, { rev: number; at: number }];
    assert.ok(first.at >= 300, `first compaction after ${first.at} ms, before a retention passed`);
    // The revision compacted to is the one recorded about one retention before.
    assert.ok(first.at - first.rev >= 250, `compacted to revision ${first.rev} at ${first.at} ms`);
    assert.ok(second.at - first.at >= 250, `second compaction only ${second.at - first.at} ms after the first`);
    assert.ok(second.rev > first.rev);
  });

  it('revision: keeps the last N revisions, only on the leader', async () => {
    const s = fakeStore(false);
    const cfg: AutoCompaction = { mode: 'revision', retention: 100, checkIntervalMs: 20 };
    compactor = new AutoCompactor(cfg, s.deps);
    // Absence can only be watched for a while: ten checks as a follower.
    await new Promise((r) => setTimeout(r, 10 * cfg.checkIntervalMs));
    assert.equal(s.compacted.length, 0, 'a follower does not compact');
    s.leader = true;
    await eventually('a compaction', () => s.compacted.length >= 1, 5000, 5);
    const c = s.compacted[0]!;
    // Revision then was about c.at + 1; the newest 100 are kept.
    assert.ok(Math.abs(c.at + 1 - 100 - c.rev) <= 25, `compacted to ${c.rev} at revision ~${c.at + 1}`);
  });

  it('runs on a member: --auto-compaction-mode revision compacts its store', async () => {
    let m: InProcessMember | undefined;
    try {
      m = await startInProcessMember({ autoCompaction: { mode: 'revision', retention: 2, checkIntervalMs: 20 } });
      await eventually('a leader', () => m!.server.leader !== 0n);
      for (let i = 0; i < 5; i++) await m.client.put({ key: Buffer.from('k'), value: Buffer.from(String(i)) });
      // Revision 6 now; keeping 2 revisions compacts at 4.
      await eventually('compaction at revision 4', async () => Number((await m!.server.hashKv(0)).compactRev) === 4, 5000);
    } finally {
      await m?.close();
    }
  });
});
