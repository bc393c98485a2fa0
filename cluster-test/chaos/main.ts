import { Command, InvalidArgumentError } from 'commander';
import { parseGoDuration } from '../../src/util/go-duration';
import { runChaos } from './run';
import { FAULT_KINDS, FaultKind, parseFaultKinds } from './schedule';

/**
 * `npm run chaos -- --seed N --duration 60s --faults kill,pause,partition,silence,restart,wipe`: one chaos
 * run against real Keel processes; prints progress and the report, exits 0 only if every checker
 * passed. A longer soak is a longer --duration.
 */
const program = new Command('chaos')
  .option('--seed <n>', 'seed of the fault schedule and the workload (replays a run)', (v) => integer(v), Date.now() % 1_000_000)
  .option('--duration <d>', 'how long faults are injected, e.g. 60s or 10m', (v) => duration(v), 60_000)
  .option('--faults <kinds>', `comma-separated fault kinds (${FAULT_KINDS.join(',')})`, (v) => kinds(v), [...FAULT_KINDS])
  .option('--members <n>', 'cluster size', (v) => integer(v), 3)
  .option('--clients <n>', 'concurrent KV clients', (v) => integer(v), 8)
  .option('--keep', 'keep logs, data dirs and the history even when every checker passed', false);

async function main(): Promise<number> {
  program.parse();
  const o = program.opts<{ seed: number; duration: number; faults: FaultKind[]; members: number; clients: number; keep: boolean }>();
  console.log(`chaos: seed ${o.seed}, ${o.duration / 1000} s, faults ${o.faults.join(',')}, ${o.members} members, ${o.clients} clients`);
  const result = await runChaos({
    seed: o.seed, durationMs: o.duration, faults: o.faults, members: o.members, keep: o.keep,
    workload: { clients: o.clients }, progress: (line) => console.log(line),
  });
  console.log(result.report);
  return result.passed ? 0 : 1;
}

function integer(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`"${v}" is not a non-negative integer`);
  return n;
}

function duration(v: string): number {
  const ms = parseGoDuration(v);
  if (ms === undefined || ms <= 0) throw new InvalidArgumentError(`"${v}" is not a positive duration such as 60s or 10m`);
  return ms;
}

function kinds(v: string): FaultKind[] {
  try {
    return parseFaultKinds(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

main().then((code) => (process.exitCode = code), (err: unknown) => {
  console.error(err);
  process.exitCode = 2;
});
