#!/usr/bin/env node
import './jit-tier-up';
import { CommanderError } from 'commander';
import { randomInt } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { startClientServer, stopClientServer } from '../api/grpc-server';
import { startHttpServer } from '../api/http-server';
import { ConfigError } from '../server/errors';
import { KeelServer } from '../server/keel-server';
import { ETCD_VERSION } from '../server/version';
import { LevelEngine } from '../storage/level-engine';
import { walDirOf } from '../storage/wal';
import { fetchClusterInfo, PeerPortTransport } from '../transport/peer-port-transport';
import { realClock } from '../util/clock';
import { SeededRand } from '../util/rand';
import { KeelFlags, parseKeelFlags } from './keel-flags';
import { hostPort } from '../util/host-port';
import { createLogger } from './pino-logger';
import { LoadedTls, loadTlsOptions, watchTlsFiles } from './tls-files';

/** How long a joining member waits for each other member's answer about the cluster. */
const DISCOVERY_TIMEOUT_MS = 5000;

/** The `keel` binary: one member. Reads flags, opens the data dir, serves until SIGINT/SIGTERM. */
async function main(): Promise<void> {
  let flags: KeelFlags;
  try {
    flags = parseKeelFlags(process.argv.slice(2), `keel ${ETCD_VERSION}`);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    console.error(`keel: ${(err as Error).message}`);
    process.exit(2);
  }
  const log = createLogger(flags.logLevel, { name: flags.name });
  process.on('unhandledRejection', (err) => {
    log.error('fatal error, exiting', { error: String(err) });
    process.exit(1);
  });
  let clientTls: LoadedTls | undefined;
  let peerTls: LoadedTls | undefined;
  try {
    clientTls = flags.clientTls && loadTlsOptions(flags.clientTls, '');
    peerTls = flags.peerTls && loadTlsOptions(flags.peerTls, 'peer-');
  } catch (err) {
    console.error(`keel: ${(err as Error).message}`);
    process.exit(1);
  }
  log.info('starting keel', { version: ETCD_VERSION, 'data-dir': flags.dataDir, 'listen-client-urls': flags.listenClientUrls });

  let engine: LevelEngine;
  try {
    await mkdir(flags.dataDir, { recursive: true, mode: 0o700 });
    engine = await LevelEngine.open(flags.dataDir);
  } catch (err) {
    const cause = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
    log.error('cannot open data dir', { 'data-dir': flags.dataDir, error: cause });
    console.error(`keel: cannot open data dir ${flags.dataDir}: ${cause}`);
    process.exit(1);
  }
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Peers are dialled with this member's own peer certificate (as etcd does), read anew on each dial.
  const peerDial = () => peerTls && { cert: peerTls.cert, key: peerTls.key, ...(peerTls.ca ? { ca: peerTls.ca } : {}) };
  const peers = await PeerPortTransport.listen(listenAddresses(flags.listenPeerUrls, peerTls), log, peerDial);
  const stopWatchingPeerTls = flags.peerTls === undefined ? () => undefined
    : watchTlsFiles(flags.peerTls, 'peer-', (options) => {
      peerTls = options;
      peers.tlsListeners.forEach((l) => l.setSecureContext(options));
    }, log);
  let server: KeelServer;
  try {
    server = await KeelServer.start(flags, {
      engine,
      walDir: walDirOf(flags.dataDir),
      transport: (self, clusterId, members) => {
        peers.setPeers(self, clusterId, members);
        return peers;
      },
      discover: (urls) => fetchClusterInfo(urls, DISCOVERY_TIMEOUT_MS, peerDial()),
      rand: new SeededRand(randomInt(2 ** 31)),
      clock: realClock,
      log,
      registry,
    });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    log.error('cannot start member', { error: err.message });
    console.error(`keel: ${err.message}`);
    await engine.close();
    process.exit(1);
  }
  const clientServer = await startClientServer(server, listenAddresses(flags.listenClientUrls, clientTls), flags, log);
  const stopWatchingTls = flags.clientTls === undefined ? () => undefined
    : watchTlsFiles(flags.clientTls, '', (options) => clientServer.tlsListeners.forEach((l) => l.setSecureContext(options)), log);
  const httpServers = await startHttpServer(server, registry, flags.listenMetricsUrls.map(hostPort), log);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    if (signal !== 'none') log.info('received signal, shutting down', { signal });
    stopWatchingTls();
    stopWatchingPeerTls();
    await stopClientServer(clientServer);
    for (const h of httpServers) h.close();
    await server.stop();
    await engine.close();
    log.info('stopped');
    process.exit(0);
  };
  void server.stoppedByItself.then((reason) => {
    log.warn('member stops by itself', { reason });
    void stop('none');
  });
  process.on('SIGINT', (s) => void stop(s));
  process.on('SIGTERM', (s) => void stop(s));
}

void main();

/** Where to listen for --listen-*-urls: each URL's host:port, with TLS for the https ones. */
function listenAddresses(urls: string[], tls: LoadedTls | undefined): Array<{ hostPort: string; tls?: LoadedTls }> {
  return urls.map((u) => ({ hostPort: hostPort(u), ...(u.startsWith('https://') ? { tls } : {}) }));
}
