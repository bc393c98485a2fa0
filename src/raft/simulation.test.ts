import assert from 'node:assert/strict';
import { InvariantChecker, InvariantViolation } from './testing/invariants';
import { Network } from './testing/network';
import { DEFAULT_SIMULATION, simulate } from './testing/simulator';

/** How many seeds each CI run covers; `npm run sim -- --seeds 10000` runs many more. */
const CI_SEEDS_3 = 200;
const CI_SEEDS_5 = 60;

describe('deterministic simulation', function () {
  this.timeout(120_000);

  it(`keeps every safety invariant and recovers, over ${CI_SEEDS_3} seeds of 3 nodes`, () => {
    for (let seed = 1; seed <= CI_SEEDS_3; seed++) {
      const r = simulate({ ...DEFAULT_SIMULATION, nodes: 3, seed });
      assert.ok(r.committed > 0);
    }
  });

  it(`keeps every safety invariant and recovers, over ${CI_SEEDS_5} seeds of 5 nodes`, () => {
    for (let seed = 1; seed <= CI_SEEDS_5; seed++) {
      const r = simulate({ ...DEFAULT_SIMULATION, nodes: 5, seed });
      assert.ok(r.committed > 0);
    }
  });

  it('replays a seed exactly', () => {
    const opts = { ...DEFAULT_SIMULATION, nodes: 3, seed: 4242 };
    assert.deepEqual(simulate(opts), simulate(opts));
  });

  it('injects the faults it promises', () => {
    let crashes = 0;
    let partitions = 0;
    let leaderChanges = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const r = simulate({ ...DEFAULT_SIMULATION, nodes: 3, seed });
      crashes += r.crashes;
      partitions += r.partitions;
      leaderChanges += r.leaderChanges;
    }
    assert.ok(crashes > 10 && partitions > 10 && leaderChanges > 20, `${crashes} crashes, ${partitions} partitions, ${leaderChanges} leader changes`);
  });
});

describe('invariant checker', () => {
  it('rejects two leaders in one term', () => {
    const net = new Network([1n, 2n, 3n]);
    net.elect(1n);
    const checker = new InvariantChecker();
    checker.check([net.node(1n).node.raft]);
    const impostor = new Network([1n, 2n, 3n]);
    impostor.elect(2n);
    assert.throws(() => checker.check([impostor.node(2n).node.raft]), InvariantViolation);
  });

  it('rejects logs that agree late but differ early', () => {
    const a = new Network([1n, 2n, 3n]);
    a.elect(1n);
    a.propose(1n, 'x');
    const b = new Network([1n, 2n, 3n]);
    b.elect(1n);
    b.propose(1n, 'y');
    // Same terms everywhere, so the logs "match" at every index: rewrite one term to break that.
    const ents = b.node(2n).storage.entries(1, 3, Infinity);
    b.node(2n).storage.append([{ ...ents[0]!, term: 9 }, { ...ents[1]! }]);
    assert.throws(() => new InvariantChecker().check([a.node(2n).node.raft, b.node(2n).node.raft]), /log matching/);
  });

  it('rejects two different entries applied at one index', () => {
    const checker = new InvariantChecker();
    checker.applied(1n, { index: 5, term: 2, data: 'a' });
    assert.throws(() => checker.applied(2n, { index: 5, term: 2, data: 'b' }), /state machine safety/);
  });
});
