import assert from 'node:assert/strict';
import { LINK_TIMEOUT_MS } from '../../src/transport/link-liveness';
import { FAULT_KINDS, FaultKind, FaultSchedule, parseFaultKinds } from './schedule';

const steps = (seed: number, n: number, kinds: readonly FaultKind[] = FAULT_KINDS) => {
  const s = new FaultSchedule(seed, kinds, 3);
  return Array.from({ length: n }, () => s.next());
};

describe('FaultSchedule', () => {
  it('replays: the same seed gives the same faults, another seed others', () => {
    assert.deepEqual(steps(42, 30), steps(42, 30));
    assert.notDeepEqual(steps(42, 30), steps(43, 30));
  });

  it('injects every allowed kind once per round, and only allowed kinds', () => {
    for (const seed of [1, 2, 3]) {
      const all = steps(seed, FAULT_KINDS.length * 2);
      for (let round = 0; round < 2; round++) {
        const kinds = all.slice(round * FAULT_KINDS.length, (round + 1) * FAULT_KINDS.length).map((s) => s.kind);
        assert.deepEqual([...kinds].sort(), [...FAULT_KINDS].sort(), `seed ${seed} round ${round}: ${kinds.join(',')}`);
      }
    }
    assert.ok(steps(7, 20, ['kill', 'pause']).every((s) => s.kind === 'kill' || s.kind === 'pause'));
  });

  it('gives partitions a shape and slow links a delay, holds silent links past the link timeout, and aims at existing members', () => {
    for (const s of steps(5, 60)) {
      assert.ok(s.target >= 0 && s.target < 3);
      assert.equal(s.shape !== undefined, s.kind === 'partition');
      assert.equal(s.delayMs !== undefined, s.kind === 'slow');
      if (s.kind === 'silence') assert.ok(s.holdMs > LINK_TIMEOUT_MS, `a silence of ${s.holdMs} ms`);
    }
  });

  it('parses --faults and rejects unknown kinds', () => {
    assert.deepEqual(parseFaultKinds('kill, pause,kill'), ['kill', 'pause']);
    assert.throws(() => parseFaultKinds('kill,reboot'), /unknown fault 'reboot'/);
    assert.throws(() => new FaultSchedule(1, [], 3), /at least one fault kind/);
  });
});
