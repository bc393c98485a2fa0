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

// Exits as soon as the report is out rather than when the event loop drains: a 10-minute run
// (client connections to members killed and paused all along) once printed its report and then
// spun at full CPU in Node's exit clean-up (nodejs/node#47748, as .ci/run notes for mocha) until
// its `timeout` killed it. stdout and stderr are synchronous on Linux, so nothing printed is lost.
main().then((code) => process.exit(code), (err: unknown) => {
  console.error(err);
  process.exit(2);
});
