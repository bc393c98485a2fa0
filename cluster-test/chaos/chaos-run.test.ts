import assert from 'node:assert/strict';
import { runChaos } from './run';
import { FAULT_KINDS } from './schedule';

/**
 * The chaos runner in CI: real Keel processes, the recorded workload, every kind of fault, and
 * every checker, on fixed seeds so a failure replays (`npm run chaos -- --seed N`). Longer soaks
 * are `npm run chaos -- --duration 10m`. The run's report is printed when it fails, with where its
 * logs, data dirs and history are kept.
 */
describe('chaos against a three-member Keel cluster', function () {
  this.timeout(180_000);

  for (const seed of [1, 2]) {
    it(`seed ${seed}: every fault kind injected, every checker passes`, async () => {
      const result = await runChaos({ seed, durationMs: 35_000, faults: FAULT_KINDS });
      if (!result.passed) console.log(result.report);
      for (const v of result.verdicts) assert.ok(v.passed, `${v.checker}: ${v.problems.slice(0, 5).join('; ')}`);
      for (const kind of FAULT_KINDS) assert.ok((result.faults.get(kind) ?? 0) >= 1, `no ${kind} fault was injected`);
      // A run that recorded next to nothing would pass every checker without proving anything.
      assert.ok(result.ops > 1000, `only ${result.ops} operations were recorded`);
    });
  }
});
