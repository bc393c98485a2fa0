import { Command, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../server/errors';
import { ServerConfig } from '../server/keel-server';
import type { JwtOptions } from '../server/jwt-tokens';
import { validateUrl } from '../server/membership';
import { LogLevel } from './pino-logger';
import { AutoCompaction, REVISION_CHECK_INTERVAL_MS } from '../server/auto-compactor';
import { MAX_SUGGESTED_QUOTA_BYTES } from '../server/quota';
import { parseGoDuration } from '../util/go-duration';
import { TlsFiles } from './tls-files';

/** Everything `keel` is told on its command line, with etcd's flag names and meanings. */
export interface KeelFlags extends ServerConfig {
  /** --max-concurrent-streams: HTTP/2 streams (calls, watch streams) one client connection may have open. */
  maxConcurrentStreams?: number;
  dataDir: string;
  listenClientUrls: string[];
  listenPeerUrls: string[];
  listenMetricsUrls: string[];
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
  logLevel: LogLevel;
  /** Client TLS (--cert-file, --key-file, ...), when a certificate was given. */
  clientTls?: TlsFiles;
  /** Peer TLS (--peer-cert-file, ...): this member's certificate both to serve and to dial peers. */
  peerTls?: TlsFiles;
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
    .option('--snapshot-count <n>', 'committed entries between log trims (also trimmed once it holds 128 MiB)', positiveInt, 100000)
    .option('--experimental-watch-progress-notify-interval <duration>', 'how often watchers that ask for it get progress notifications (e.g. 10m, 500ms)', duration, 600000)
    .option('--max-concurrent-streams <n>', 'maximum concurrent streams that each client can open at a time (default: no limit)', positiveInt)
    .option('--max-request-bytes <bytes>', 'largest client request the server accepts, in bytes', positiveInt, DEFAULT_MAX_REQUEST_BYTES)
    .option('--quota-backend-bytes <bytes>', 'raise alarms when backend size exceeds the given quota (0 defaults to low space quota)', integer, 0)
    .addOption(new Option('--auto-compaction-mode <mode>', "interpret 'auto-compaction-retention' one of: periodic|revision. 'periodic' for duration based retention, defaulting to hours if no time unit is provided (e.g. '5m'). 'revision' for revision number based retention.").default('periodic'))
    .option('--auto-compaction-retention <retention>', 'auto compaction retention for mvcc key value store. 0 means disable auto compaction.', '0')
    .option('--auth-token <spec>', 'specify auth token: simple, or jwt,pub-key=<file>,priv-key=<file>,sign-method=<alg>[,ttl=<duration>]', 'simple')
    .option('--auth-token-ttl <seconds>', 'the lifetime in seconds of the auth token', positiveInt, 300)
    .option('--cert-file <path>', 'path to the client server TLS cert file')
    .option('--key-file <path>', 'path to the client server TLS key file')
    .option('--trusted-ca-file <path>', 'path to the client server TLS trusted CA cert file')
    .option('--client-cert-auth', 'enable client cert authentication', false)
    .option('--peer-cert-file <path>', 'path to the peer server TLS cert file')
    .option('--peer-key-file <path>', 'path to the peer server TLS key file')
    .option('--peer-trusted-ca-file <path>', 'path to the peer server TLS trusted CA file')
    .option('--peer-client-cert-auth', 'enable peer client cert authentication', false)
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
    ...(o.maxConcurrentStreams === undefined ? {} : { maxConcurrentStreams: o.maxConcurrentStreams as number }),
    watchProgressNotifyIntervalMs: o.experimentalWatchProgressNotifyInterval,
    quotaBackendBytes: o.quotaBackendBytes,
    autoCompaction: parseAutoCompaction(o.autoCompactionMode as string, o.autoCompactionRetention as string),
    logLevel: o.logLevel,
    authTokenTtlSeconds: o.authTokenTtl,
    ...parseAuthToken(o.authToken as string),
    clientTls: tlsFiles(o.certFile, o.keyFile, o.trustedCaFile, o.clientCertAuth as boolean, ''),
    peerTls: tlsFiles(o.peerCertFile, o.peerKeyFile, o.peerTrustedCaFile, o.peerClientCertAuth as boolean, 'peer-'),
  };
  for (const [side, list, tls, prefix] of [
    ['client', flags.listenClientUrls, flags.clientTls, ''], ['peer', flags.listenPeerUrls, flags.peerTls, 'peer-'],
  ] as const) {
    for (const u of list) {
      if (u.startsWith('https://') && tls === undefined) {
        throw new ConfigError(`TLS key/cert (--${prefix}cert-file, --${prefix}key-file) must be provided for ${side} url ${u} with HTTPS scheme`);
      }
    }
  }
  if (flags.quotaBackendBytes > MAX_SUGGESTED_QUOTA_BYTES) {
    console.error(`keel: warning: --quota-backend-bytes ${flags.quotaBackendBytes} exceeds the suggested maximum of ${MAX_SUGGESTED_QUOTA_BYTES} bytes`);
  }
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

const JWT_SIGN_METHODS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'] as const;

/**
 * etcd's --auth-token: `simple`, or `jwt,pub-key=…,priv-key=…,sign-method=…,ttl=…` with the key
 * files read now, so a missing or unreadable key stops the member at start, not at first login.
 * Without priv-key a member verifies tokens but cannot issue them.
 */
export function parseAuthToken(spec: string): { jwt?: JwtOptions } {
  const [kind, ...options] = spec.split(',');
  if (kind === 'simple' && options.length === 0) return {};
  if (kind !== 'jwt') throw new ConfigError(`unknown token type: ${JSON.stringify(spec)} (simple or jwt,…)`);
  const o = new Map<string, string>();
  for (const opt of options) {
    const eq = opt.indexOf('=');
    const key = opt.slice(0, eq);
    if (eq < 0 || !['pub-key', 'priv-key', 'sign-method', 'ttl'].includes(key)) throw new ConfigError(`--auth-token: unknown jwt option ${JSON.stringify(opt)}`);
    o.set(key, opt.slice(eq + 1));
  }
  const method = o.get('sign-method');
  if (method === undefined || !(JWT_SIGN_METHODS as readonly string[]).includes(method)) {
    throw new ConfigError(`--auth-token: jwt needs sign-method, one of ${JWT_SIGN_METHODS.join(', ')}`);
  }
  const pub = o.get('pub-key');
  if (pub === undefined) throw new ConfigError('--auth-token: jwt needs pub-key');
  const read = (file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new ConfigError(`--auth-token: cannot read ${file}: ${(err as Error).message}`);
    }
  };
  const priv = o.get('priv-key');
  const ttlMs = o.has('ttl') ? parseGoDuration(o.get('ttl')!) : 5 * 60_000;
  if (ttlMs === undefined || ttlMs <= 0) throw new ConfigError(`--auth-token: invalid ttl ${JSON.stringify(o.get('ttl'))}`);
  return { jwt: { publicKey: read(pub), ...(priv === undefined ? {} : { privateKey: read(priv) }), signMethod: method as JwtOptions['signMethod'], ttlMs } };
}

/**
 * etcd's retention parsing: a bare non-negative integer is hours (periodic) or revisions
 * (revision); periodic also takes a Go duration such as 30m. Retention 0 turns compaction off.
 */
export function parseAutoCompaction(mode: string, retention: string): AutoCompaction | undefined {
  if (mode !== 'periodic' && mode !== 'revision') throw new ConfigError(`unknown auto-compaction-mode "${mode}"`);
  const n = /^\d+$/.test(retention) ? Number(retention) : undefined;
  if (mode === 'revision') {
    // etcd would read a duration here as nanoseconds of revisions; refusing it is kinder.
    if (n === undefined) throw new ConfigError(`--auto-compaction-retention "${retention}" must be a number of revisions in revision mode`);
    return n === 0 ? undefined : { mode, retention: n, checkIntervalMs: REVISION_CHECK_INTERVAL_MS };
  }
  const ms = n !== undefined ? n * 3_600_000 : parseGoDuration(retention);
  if (ms === undefined || ms < 0) throw new ConfigError(`error parsing CompactionRetention: invalid duration "${retention}"`);
  return ms === 0 ? undefined : { mode, retentionMs: ms };
}

/** One side's TLS flags, checked for the pairs etcd requires; undefined when no certificate is given. */
function tlsFiles(certFile: string | undefined, keyFile: string | undefined, trustedCaFile: string | undefined, clientCertAuth: boolean, prefix: string): TlsFiles | undefined {
  if ((certFile === undefined) !== (keyFile === undefined)) throw new ConfigError(`--${prefix}cert-file and --${prefix}key-file must be given together`);
  if (clientCertAuth && trustedCaFile === undefined) throw new ConfigError(`--${prefix}client-cert-auth needs --${prefix}trusted-ca-file to verify certificates with`);
  if (certFile === undefined || keyFile === undefined) return undefined;
  return { certFile, keyFile, clientCertAuth, ...(trustedCaFile === undefined ? {} : { trustedCaFile }) };
}

function integer(value: string): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`"${value}" is not an integer`);
  return n;
}

function urls(value: string): string[] {
  return value.split(',').map((u) => u.trim()).filter((u) => u !== '');
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`"${value}" is not a positive integer`);
  return n;
}

/** A Go duration such as 500ms, 10s, 10m or 1h30m, in milliseconds (etcd's duration flags). */
export function duration(value: string): number {
  const ms = parseGoDuration(value);
  if (ms === undefined) throw new InvalidArgumentError(`"${value}" is not a duration such as 500ms, 10s or 10m`);
  if (ms <= 0) throw new InvalidArgumentError(`"${value}" must be positive`);
  return ms;
}
