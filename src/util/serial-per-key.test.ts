import assert from 'node:assert/strict';
import { SerialPerKey } from './serial-per-key';
import { eventually } from './eventually';

describe('SerialPerKey', () => {
  it('never overlaps runs of one key, and folds asks made during a run into one run that sees the latest value', async () => {
    let value = 0;
    let running = 0;
    const seen: number[] = [];
    const gates: Array<() => void> = [];
    const runner = new SerialPerKey(async () => {
      running++;
      assert.equal(running, 1, 'two runs of one key overlapped');
      const at = value;
      await new Promise<void>((resolve) => gates.push(resolve));
      seen.push(at);
      running--;
    });
    runner.request('pod');
    for (let v = 1; v <= 5; v++) {
      value = v;
      runner.request('pod');
    }
    assert.equal(gates.length, 1);
    gates[0]!();
    await eventually('second run started', () => gates.length === 2);
    gates[1]!();
    await eventually('runs finished', () => !runner.busy('pod'));
    assert.deepEqual(seen, [0, 5]);
  });

  it('runs different keys side by side, and a key again once its run has finished', async () => {
    const started: string[] = [];
    const gates: Array<() => void> = [];
    const runner = new SerialPerKey(async (key) => {
      started.push(key);
      await new Promise<void>((resolve) => gates.push(resolve));
    });
    runner.request('a');
    runner.request('b');
    assert.deepEqual(started, ['a', 'b']);
    gates.forEach((open) => open());
    await eventually('both finished', () => !runner.busy('a') && !runner.busy('b'));
    runner.request('a');
    assert.deepEqual(started, ['a', 'b', 'a']);
    gates[2]!();
  });
});
