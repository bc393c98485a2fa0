#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { formatApiserverTable, runApiserverBench } from './apiserver';
import { formatBigStoreTable, runBigStore } from './big-store';
import { CHECK_PERF_LOADS, CheckPerfLoad, formatCheckPerfTable, runCheckPerf } from './check-perf';
import { formatScaleTable, runControlPlaneScale } from './control-plane-scale';
import { summarizeProfiles } from './profile-summary';
import { formatWatchTable, runWatchFanout } from './watch-fanout';
import { join, resolve } from 'node:path';
import { formatJson, formatTables, Run } from './report';
import { defaultRowIds, isRowId, planRows, ROW_IDS, RowId } from './rows';
import { runSuite, warmUpWithRow } from './suite';
import { SYSTEMS, System, Target } from './targets';
import { workloadOptionsError } from './workload';

/** --clients and --conns when not given, per cluster size. */
const MANY_DEFAULTS: Record<number, { clients: number; conns: number }> = {
  1: { clients: 64, conns: 8 },
  // Like etcd's cluster benchmarks: more clients, and conns a multiple of 3 so each member gets as many.
  3: { clients: 128, conns: 12 },
};

/**
 * `npm run bench [-- options]`: the same closed-loop load against a fresh keel and a fresh etcd,
 * one after the other, first as one-member servers and then as three-member clusters (--cluster),
 * then per size a table of throughput, latency and CPU. Progress goes to stderr, the result to stdout.
 */
async function main(): Promise<void> {
  const program = new Command('bench')
    .description('Closed-loop put/range load against a fresh keel and a fresh etcd (/usr/bin/etcd), compared row by row')
    .addOption(new Option('--target <system>', 'which server to measure').choices([...SYSTEMS, 'both']).default('both'))
    .addOption(new Option('--cluster <members>', 'members per cluster: 1, 3, or both sizes one after the other').choices(['1', '3', 'both']).default('both'))
    .option('--duration <seconds>', 'measured time of each row on each system', positiveNumber, 5)
    .option('--warmup <seconds>', 'unmeasured load before each row', nonNegativeNumber, 1)
    .option('--server-warmup <seconds>', 'unmeasured load of every row, this long each, on each fresh cluster before the first row (a member\'s JIT needs thousands of requests to settle)', nonNegativeNumber, 2)
    .option('--clients <n>', 'concurrent closed-loop clients in the -n rows (default: 64 on one member, 128 on three)', positiveInt)
    .option('--conns <n>', 'connections (one EtcdClient and TCP connection each) the -n rows spread their clients over; ' +
      'on three members connection i goes to member i % 3 (default: 8 on one member, 12 on three)', positiveInt)
    .option('--total <n>', 'end each measured row after this many requests, if its --duration has not ended it first', positiveInt)
    .option('--value-size <bytes>', 'size of each put value', nonNegativeInt, 256)
    .option('--key-size <bytes>', 'size of each put key: its number in the key space, zero-padded', positiveInt, 8)
    .option('--key-space <n>', 'distinct keys the put, txn-put and mixed rows write', positiveInt, 10_000)
    .option('--sequential-keys', 'write keys in order (0, 1, 2, ...) instead of picking each at random')
    .addOption(new Option('--rows <list>', `comma-separated rows to run, from: ${ROW_IDS.join(', ')} ` +
      `(default: all on one member, ${defaultRowIds(3).join(', ')} on three; 1-client rows go to the leader)`).argParser(rowList))
    .option('--json', 'print the results as JSON instead of tables')
    .option('--apiserver', 'also run the apiserver rows: keel-apiserver on each system (pods created/s, list of 10,000 pods, watch fan-out)')
    .option('--profile [dir]', 'write CPU profiles of the keel members to dir (default bench-profiles/<time>) and print where their time went')
    .option('--watch', 'run only the watch fan-out row: --watchers watchers of one key, one writer')
    .option('--watchers <n>', 'watchers of the --watch row', positiveInt, 1000)
    .option('--watch-puts <n>', 'puts the writer of the --watch row makes (etcd benchmark watch-latency --put-total), after as many unmeasured', positiveInt, 1000)
    .option('--big', 'run only the big-store rows: --big-keys keys of --value-size bytes on 3 members; resident memory, restart to ready, catch-up of a wiped member')
    .option('--big-keys <n>', 'keys the --big run loads', positiveInt, 1_000_000)
    .addOption(new Option('--check-perf [load]', 'run only etcdctl check perf against 3 members of each system').choices([...CHECK_PERF_LOADS]).preset('l'))
    .option('--scale', 'run only the control-plane scale rows: simulated nodes (kwok style), pods created, scheduled and Running')
    .option('--scale-nodes <n>', 'simulated nodes of the --scale run', positiveInt, 100)
    .option('--scale-pods <n>', 'pods the --scale run creates', positiveInt, 3000)
    .showHelpAfterError('(run with --help for usage)');
  program.parse();
  const o = program.opts<{
    target: System | 'both'; cluster: '1' | '3' | 'both'; duration: number; warmup: number; serverWarmup: number; clients?: number; conns?: number;
    total?: number; valueSize: number; keySize: number; keySpace: number; sequentialKeys?: boolean; rows?: RowId[]; json?: boolean; apiserver?: boolean; scale?: boolean; scaleNodes: number; scalePods: number; watch?: boolean; watchers: number; watchPuts: number; big?: boolean; bigKeys: number; checkPerf?: CheckPerfLoad;
    profile?: string | true;
  }>();
  const progress = (line: string) => void process.stderr.write(`${line}\n`);
  const systems: System[] = o.target === 'both' ? [...SYSTEMS] : [o.target];
  const profileDir = o.profile === undefined ? undefined
    : resolve(o.profile === true ? join('bench-profiles', new Date().toISOString().replace(/[:.]/g, '-')) : o.profile);
  if (o.watch) {
    const watch = await runWatchFanout(systems, { watchers: o.watchers, streams: 10, puts: o.watchPuts, warmupPuts: o.watchPuts, ...(profileDir === undefined ? {} : { profileDir }) },
      progress);
    process.stdout.write(o.json ? `${JSON.stringify({ watch }, null, 2)}\n` : formatWatchTable(watch));
    printProfiles(profileDir);
    return;
  }
  const workload = { valueBytes: o.valueSize, keyBytes: o.keySize, keySpace: o.keySpace, sequential: o.sequentialKeys === true };
  const workloadError = workloadOptionsError(workload);
  if (workloadError !== undefined) program.error(`error: ${workloadError}`);
  if (o.checkPerf !== undefined) {
    // The put row's load for --server-warmup, plus its warm-up, as a row of the suite gets.
    const [row] = planRows(['put-n'], o.clients ?? MANY_DEFAULTS[3]!.clients, o.conns ?? MANY_DEFAULTS[3]!.conns, 3);
    const warmUpMs = (o.serverWarmup + o.warmup) * 1000;
    const warmUp = { label: `${row!.label}, ${warmUpMs / 1000} s, unmeasured`, run: (target: Target) => warmUpWithRow(target, row!, workload, warmUpMs) };
    const perf = await runCheckPerf(systems, o.checkPerf, warmUp, progress, profileDir);
    process.stdout.write(o.json ? `${JSON.stringify({ checkPerf: perf }, null, 2)}\n` : formatCheckPerfTable(perf));
    printProfiles(profileDir);
    return;
  }
  if (o.big) {
    const big = await runBigStore(systems, { keys: o.bigKeys, valueBytes: o.valueSize, ...(profileDir === undefined ? {} : { profileDir }) }, progress);
    process.stdout.write(o.json ? `${JSON.stringify({ big }, null, 2)}\n` : formatBigStoreTable(big));
    printProfiles(profileDir);
    return;
  }
  if (o.scale) {
    const scale = await runControlPlaneScale(systems, { nodes: o.scaleNodes, pods: o.scalePods, creators: 16 }, progress);
    process.stdout.write(o.json ? `${JSON.stringify({ scale }, null, 2)}\n` : formatScaleTable(scale));
    return;
  }
  const sizes = o.cluster === 'both' ? [1, 3] : [Number(o.cluster)];
  const plans = sizes.map((members) => {
    const clients = o.clients ?? MANY_DEFAULTS[members]!.clients;
    const conns = o.conns ?? MANY_DEFAULTS[members]!.conns;
    if (conns > clients) program.error(`error: --conns (${conns}) must not exceed --clients (${clients})${sizes.length > 1 ? ` (on ${members} members)` : ''}`);
    return {
      systems,
      members,
      rows: planRows(o.rows ?? defaultRowIds(members), clients, conns, members),
      durationMs: o.duration * 1000,
      warmupMs: o.warmup * 1000,
      serverWarmupMs: o.serverWarmup * 1000,
      ...(o.total === undefined ? {} : { requests: o.total }),
      workload,
      ...(profileDir === undefined ? {} : { profileDir }),
    };
  });

  const runs: Run[] = [];
  for (const settings of plans) {
    const results = await runSuite({ ...settings, log: progress });
    runs.push({ settings, results });
  }
  process.stdout.write(o.json ? `${formatJson(runs)}\n` : formatTables(runs));
  printProfiles(profileDir);
  if (o.apiserver) {
    const api = await runApiserverBench(systems, o.duration * 1000, progress);
    process.stdout.write(o.json ? `${JSON.stringify({ apiserver: api }, null, 2)}\n` : `\n${formatApiserverTable(api)}`);
  }
}

/** Where the keel members' CPU time went, once they have stopped and written their profiles. */
function printProfiles(profileDir: string | undefined): void {
  if (profileDir !== undefined) process.stdout.write(`\n## where the keel members' CPU time went (self time)\n\n${summarizeProfiles(profileDir)}\n`);
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('must be a number greater than 0.');
  return n;
}

function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!(n >= 0) || !Number.isFinite(n)) throw new InvalidArgumentError('must be a number of 0 or more.');
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be an integer of 1 or more.');
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be an integer of 0 or more.');
  return n;
}

function rowList(value: string): RowId[] {
  const ids = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = ids.filter((id) => !isRowId(id));
  if (unknown.length > 0) throw new InvalidArgumentError(`unknown row ${unknown.join(', ')}; rows are ${ROW_IDS.join(', ')}.`);
  if (ids.length === 0) throw new InvalidArgumentError('name at least one row.');
  return [...new Set(ids)] as RowId[];
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
