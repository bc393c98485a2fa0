import assert from 'node:assert/strict';
import { silentLogger } from '../util/logger';
import { AlarmStore } from './alarm-store';
import { ServerError } from './errors';
import { QuotaGuard, SIZE_MAX_AGE_MS } from './quota-guard';

/** A put costing 256 + 1 + 43 = 300 bytes against the quota. */
const PUT = { put: { key: Buffer.from('k'), value: Buffer.alloc(43) } };

/** A guard whose size reads wait until the test answers them, on a clock the test moves. */
function guard(quotaBytes: number) {
  const reads: Array<(size: number) => void> = [];
  let now = 1_000;
  let raised = 0;
  const g = new QuotaGuard({
    quotaBytes, memberId: 1n, alarms: new AlarmStore(), log: silentLogger, now: () => now,
    dbSize: () => new Promise<number>((resolve) => reads.push(resolve)),
    raiseNoSpace: async () => void raised++,
  });
  return { g, reads, raised: () => raised, advance: (ms: number) => void (now += ms) };
}

/** Whether `p` has settled once the microtasks queued so far have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('QuotaGuard', () => {
  it('waits for the first size read, then admits on the size read plus what it admitted since', async () => {
    const { g, reads } = guard(10_000);
    const first = g.admit(PUT);
    assert.equal(await settled(first), false, 'nothing is known of the size yet');
    reads[0]!(1_000);
    await first;
    await g.admit(PUT);
    assert.equal(reads.length, 1, 'a size younger than its maximum age is not read again');
  });

  it('admits a write that fits at once while a stale size is read again behind it', async () => {
    const { g, reads, advance } = guard(10_000);
    const first = g.admit(PUT);
    reads[0]!(1_000);
    await first;
    advance(SIZE_MAX_AGE_MS);
    assert.equal(await settled(g.admit(PUT)), true, 'the write did not wait for the size');
    assert.equal(reads.length, 2, 'the stale size is being read again');
    await g.admit(PUT);
    assert.equal(reads.length, 2, 'a write joins the read under way');
  });

  it('reads the size again before refusing, and refuses with NOSPACE only when that does not fit either', async () => {
    const { g, reads, raised } = guard(2_000);
    const first = g.admit(PUT);
    reads[0]!(1_600); // 1,600 + 300 fits
    await first;
    const second = g.admit(PUT); // 1,900 + 300 does not, on the estimate
    assert.equal(await settled(second), false, 'waits for a fresh size');
    reads[1]!(1_000); // a defragmentation shrank it
    await second;
    const third = g.admit(PUT); // 1,300 + 300 fits
    assert.equal(await settled(third), true);
    const tooMuch = g.admit({ put: { key: Buffer.from('k'), value: Buffer.alloc(1_000) } });
    assert.equal(await settled(tooMuch), false);
    reads[2]!(1_900);
    await assert.rejects(tooMuch, (err: unknown) => err instanceof ServerError && err.reason === 'no-space');
    assert.equal(raised(), 1, 'the NOSPACE alarm is raised');
  });
});
