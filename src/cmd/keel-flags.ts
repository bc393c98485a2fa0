import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../server/errors';
import { ServerConfig } from '../server/keel-server';
import { validateUrl } from '../server/membership';
import { parseGoDuration } from '../util/duration';
import { LogLevel } from './pino-logger';

/** Everything `keel` is told on its command line, with etcd's flag names and meanings. */
export interface KeelFlags extends ServerConfig {
  dataDir: string;
  listenClientUrls: string[];
  listenPeerUrls: string[];
  listenMetricsUrls: string[];
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
  logLevel: LogLevel;
}

const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

/** Parses argv; commander reports its own errors, the checks after it throw ConfigError. */
export function parseKeelFlags(argv: string[], version: string): KeelFlags {
  const program = new Command('keel')
    .description('Keel: one member of an etcd v3-compatible key-value cluster')
    .version(version, '--version', 'print the version and exit')
    .option('--name <name>', 'human-readable name for this member', 'default')
    .option('--data-dir <path>', 'path to the data directory (default: ${name}.keel)')
    .option('--listen-client-urls <urls>', 'URLs to listen on for client traffic', urls, ['http://127.0.0.1:2379'])
    .option('--advertise-client-urls <urls>', 'client URLs to advertise to the rest of the cluster', urls, ['http://127.0.0.1:2379'])
    .option('--listen-peer-urls <urls>', 'URLs to listen on for peer traffic', urls, ['http://127.0.0.1:2380'])
    .option('--initial-advertise-peer-urls <urls>', "this member's peer URLs to advertise to the cluster", urls, ['http://127.0.0.1:2380'])
    .option('--initial-cluster <spec>', 'initial cluster configuration, name=peer-url,... (default: ${name}=${initial-advertise-peer-urls})')
    .addOption(new Option('--initial-cluster-state <state>', 'new for a new cluster, existing to join one').choices(['new', 'existing']).default('new'))
    .option('--initial-cluster-token <token>', 'initial cluster token, keeps clusters started with the same flags apart', 'etcd-cluster')
    .option('--listen-metrics-urls <urls>', 'URLs to serve /metrics and /health on', urls, [])
    .option('--heartbeat-interval <ms>', 'time of a heartbeat interval, in milliseconds', positiveInt, 100)
    .option('--election-timeout <ms>', 'time of an election timeout, in milliseconds', positiveInt, 1000)
    .option('--snapshot-count <n>', 'committed entries between log trims', positiveInt, 100000)
    .option('--experimental-watch-progress-notify-interval <duration>', 'how often watchers that ask for it get progress notifications (e.g. 10m, 500ms)', duration, 600000)
    .option('--max-request-bytes <bytes>', 'largest client request the server accepts, in bytes', positiveInt, DEFAULT_MAX_REQUEST_BYTES)
    .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .showHelpAfterError()
    .exitOverride();
  program.parse(argv, { from: 'user' });
  if (program.args.length > 0) throw new ConfigError(`unexpected argument "${program.args[0]}"`);
  const o = program.opts();
  const name = o.name as string;
  const advertisePeer = o.initialAdvertisePeerUrls as string[];
  const flags: KeelFlags = {
    name,
    dataDir: (o.dataDir as string | undefined) ?? `${name}.keel`,
    listenClientUrls: o.listenClientUrls,
    advertiseClientUrls: o.advertiseClientUrls,
    listenPeerUrls: o.listenPeerUrls,
    initialAdvertisePeerUrls: advertisePeer,
    initialCluster: (o.initialCluster as string | undefined) ?? advertisePeer.map((u) => `${name}=${u}`).join(','),
    initialClusterState: o.initialClusterState,
    initialClusterToken: o.initialClusterToken,
    listenMetricsUrls: o.listenMetricsUrls,
    heartbeatIntervalMs: o.heartbeatInterval,
    electionTimeoutMs: o.electionTimeout,
    snapshotCount: o.snapshotCount,
    maxRequestBytes: o.maxRequestBytes,
    watchProgressNotifyIntervalMs: o.experimentalWatchProgressNotifyInterval,
    logLevel: o.logLevel,
  };
  if (flags.electionTimeoutMs < 5 * flags.heartbeatIntervalMs) {
    throw new ConfigError('--election-timeout must be at least 5 times --heartbeat-interval');
  }
  for (const [flag, list] of [
    ['--listen-client-urls', flags.listenClientUrls], ['--advertise-client-urls', flags.advertiseClientUrls],
    ['--listen-peer-urls', flags.listenPeerUrls], ['--initial-advertise-peer-urls', flags.initialAdvertisePeerUrls],
    ['--listen-metrics-urls', flags.listenMetricsUrls],
  ] as const) {
    for (const u of list) validateUrl(u, flag);
  }
  return flags;
}

function urls(value: string): string[] {
  return value.split(',').map((u) => u.trim()).filter((u) => u !== '');
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`"${value}" is not a positive integer`);
  return n;
}

/** A Go-style duration such as 500ms, 10s or 10m, in milliseconds (etcd's duration flags). */
function duration(value: string): number {
  const ms = parseGoDuration(value);
  if (ms === undefined) throw new InvalidArgumentError(`"${value}" is not a duration such as 500ms, 10s or 10m`);
  if (ms <= 0) throw new InvalidArgumentError(`"${value}" must be positive`);
  return ms;
}

/** host:port of a URL, the form socket servers bind to. */
export function hostPort(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port}`;
}
