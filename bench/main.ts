#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { formatJson, formatTables } from './report';
import { isRowId, planRows, ROW_IDS, RowId } from './rows';
import { runSuite } from './suite';
import { SYSTEMS, System } from './targets';

/**
 * `npm run bench [-- options]`: the same closed-loop load against a fresh one-member keel and a
 * fresh one-member etcd, one after the other, then a table of throughput, latency and CPU.
 * Progress goes to stderr, the result to stdout.
 */
async function main(): Promise<void> {
  const program = new Command('bench')
    .description('Closed-loop put/range load against a fresh keel and a fresh etcd (/usr/bin/etcd), compared row by row')
    .addOption(new Option('--target <system>', 'which server to measure').choices([...SYSTEMS, 'both']).default('both'))
    .option('--duration <seconds>', 'measured time of each row on each system', positiveNumber, 5)
    .option('--warmup <seconds>', 'unmeasured load before each row', nonNegativeNumber, 1)
    .option('--clients <n>', 'concurrent closed-loop clients in the -n rows', positiveInt, 64)
    .option('--conns <n>', 'connections (one EtcdClient each) the -n rows spread their clients over', positiveInt, 8)
    .option('--value-size <bytes>', 'size of each put value', nonNegativeInt, 256)
    .addOption(new Option('--rows <list>', `comma-separated rows to run, from: ${ROW_IDS.join(', ')}`).argParser(rowList).default([...ROW_IDS], 'all'))
    .option('--json', 'print the results as JSON instead of tables')
    .showHelpAfterError('(run with --help for usage)');
  program.parse();
  const o = program.opts<{
    target: System | 'both'; duration: number; warmup: number; clients: number; conns: number;
    valueSize: number; rows: RowId[]; json?: boolean;
  }>();
  if (o.conns > o.clients) program.error(`error: --conns (${o.conns}) must not exceed --clients (${o.clients})`);

  const settings = {
    systems: o.target === 'both' ? [...SYSTEMS] : [o.target],
    rows: planRows(o.rows, o.clients, o.conns),
    durationMs: o.duration * 1000,
    warmupMs: o.warmup * 1000,
    valueBytes: o.valueSize,
  };
  const results = await runSuite({ ...settings, log: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(o.json ? `${formatJson(settings, results)}\n` : formatTables(results));
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
