import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import { KubeClient } from '../controlplane/kube-client/kube-client';
import { duration } from './keel-flags';
import { createLogger, type LogLevel } from './pino-logger';
import type { Logger } from '../util/logger';

/** What every control-plane component (scheduler, controller-manager, kubelet) is started with. */
export interface ComponentFlags {
  apiservers: string;
  logLevel: LogLevel;
  /** Credentials and trust for HTTPS apiservers, with kubectl's flag names. */
  token?: string;
  certificateAuthority?: string;
  clientCertificate?: string;
  clientKey?: string;
}

/** Leader-election flags of kube-scheduler and kube-controller-manager, with their defaults. */
export interface LeaderElectionFlags {
  leaderElect: boolean;
  /** Milliseconds, as are the other two. */
  leaderElectLeaseDuration: number;
  leaderElectRenewDeadline: number;
  leaderElectRetryPeriod: number;
  leaderElectResourceNamespace: string;
  leaderElectResourceName: string;
}

/** A component's command with the apiserver list and --log-level. */
export function componentCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .option('--apiservers <urls>', 'comma-separated apiserver URLs; requests fail over between them', 'http://127.0.0.1:8080')
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .option('--token <token>', 'bearer token for the apiservers (a line of their --token-auth-file)')
    .option('--certificate-authority <file>', 'CA that signed the apiservers\' certificates (PEM)')
    .option('--client-certificate <file>', 'client certificate for the apiservers (PEM; CN is the user, O the groups)')
    .option('--client-key <file>', 'its private key (PEM)')
    .showHelpAfterError();
}

/** Adds --leader-elect and its timings, named and defaulted as kube-scheduler has them. */
export function addLeaderElectionFlags(program: Command, resourceName: string): Command {
  return program
    .option('--no-leader-elect', 'run without leader election (only for a single replica)')
    .option('--leader-elect-lease-duration <duration>', 'how long a standby waits after the last renewal it saw before taking over', duration, 15_000)
    .option('--leader-elect-renew-deadline <duration>', 'how long the leader keeps trying to renew before it stops leading', duration, 10_000)
    .option('--leader-elect-retry-period <duration>', 'how often candidates try to take or renew the lease', duration, 2_000)
    .option('--leader-elect-resource-namespace <ns>', 'namespace of the Lease object', 'kube-system')
    .option('--leader-elect-resource-name <name>', 'name of the Lease object', resourceName);
}

/** The URLs in --apiservers, each checked to be an http(s) URL. */
export function apiserverUrls(flags: ComponentFlags): string[] {
  const urls = flags.apiservers.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (urls.length === 0) throw new Error('--apiservers names no apiserver');
  for (const u of urls) {
    if (!/^https?:\/\//.test(u)) throw new Error(`--apiservers: ${JSON.stringify(u)} is not an http:// or https:// URL`);
  }
  return urls;
}

/** The client a component talks to the apiservers with, identified by its name in User-Agent. */
export function componentClient(name: string, flags: ComponentFlags): KubeClient {
  if ((flags.clientCertificate === undefined) !== (flags.clientKey === undefined)) throw new Error('--client-certificate and --client-key go together');
  const file = (path: string | undefined) => (path === undefined ? undefined : readFileSync(path));
  return new KubeClient(apiserverUrls(flags), {
    userAgent: name,
    ...(flags.token === undefined ? {} : { token: flags.token }),
    ca: file(flags.certificateAuthority), cert: file(flags.clientCertificate), key: file(flags.clientKey),
  });
}

export function componentLogger(name: string, flags: ComponentFlags): Logger {
  return createLogger(flags.logLevel, { component: name });
}

/** `<hostname>_<uuid>`: a candidate's identity in a Lease, as client-go's components build it. */
export function leaderIdentity(): string {
  return `${hostname()}_${randomUUID()}`;
}
