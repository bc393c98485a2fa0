#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_SIMULATION, simulate, SimulationFailure } from '../raft/testing/simulator';

/**
 * `npm run sim`: the deterministic Raft simulation from the command line.
 *   npm run sim -- --seed 42           replay one seed
 *   npm run sim -- --seeds 10000       run seeds 1..10000 (3 and 5 nodes alternating)
 */
function main(): void {
  const opts = new Command('sim')
    .option('--seed <n>', 'run exactly this seed', int)
    .option('--seeds <n>', 'run seeds 1..n', int, 100)
    .option('--first <n>', 'first seed of a --seeds run', int, 1)
    .option('--nodes <n>', 'cluster size (default: 3 for odd seeds, 5 for even)', int)
    .option('--fault-ticks <n>', 'ticks with faults on', int, DEFAULT_SIMULATION.faultTicks)
    .parse()
    .opts<{ seed?: number; seeds: number; first: number; nodes?: number; faultTicks: number }>();
  const seeds = opts.seed !== undefined ? [opts.seed] : Array.from({ length: opts.seeds }, (_, i) => opts.first + i);
  const started = Date.now();
  let failures = 0;
  for (const [n, seed] of seeds.entries()) {
    const nodes = opts.nodes ?? (seed % 2 === 0 ? 5 : 3);
    try {
      const r = simulate({ ...DEFAULT_SIMULATION, faultTicks: opts.faultTicks, nodes, seed });
      if (seeds.length === 1) console.log(`seed ${seed} (${nodes} nodes): ok`, r);
    } catch (err) {
      if (!(err instanceof SimulationFailure)) throw err;
      failures++;
      console.error(err.message);
    }
    if ((n + 1) % 100 === 0) console.error(`${n + 1}/${seeds.length} seeds, ${failures} failed, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  console.log(`${seeds.length - failures} passed, ${failures} failed`);
  process.exit(failures === 0 ? 0 : 1);
}

function int(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`"${v}" is not a non-negative integer`);
  return n;
}

main();
