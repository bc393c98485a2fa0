import * as grpc from '@grpc/grpc-js';
import { EtcdClient } from '../client/etcd-client';
import { CtlError, errorText, ExitCode } from './exit';
import type { Output } from './output';
import type { Printer } from './printer';
import { newPrinter } from './printers';

/** etcd's answer to Authenticate while auth is disabled. */
const AUTH_NOT_ENABLED = 'etcdserver: authentication is not enabled';

/** etcdctl's global flags, after the command line and the ETCDCTL_* environment are merged. */
export interface GlobalOptions {
  /** host:port or URLs, as given. */
  endpoints: string[];
  dialTimeoutMs: number;
  commandTimeoutMs: number;
  /** Whether --command-timeout was given: snapshot save has no deadline unless it was. */
  commandTimeoutSet: boolean;
  writeOut: string;
  hex: boolean;
  /** --cacert, --cert, --key: TLS files; any of them (or an https endpoint) turns TLS on. */
  cacert?: string;
  cert?: string;
  key?: string;
  /** --insecure-skip-tls-verify: TLS without checking the server's certificate. */
  insecureSkipTlsVerify: boolean;
  /** --user name[:password] and --password: log in before the command's calls. */
  user?: string;
  password?: string;
}

/**
 * etcdutl snapshot restore's inputs (its flags, camel-cased). The same shape as the server's
 * RestoreOptions, which ctl may not import; cmd/keelctl.ts passes one for the other, so the
 * compiler keeps the two in step.
 */
export interface SnapshotRestoreRequest {
  snapshotPath: string;
  dataDir: string;
  name: string;
  initialCluster: string;
  initialClusterToken: string;
  initialAdvertisePeerUrls: string[];
  skipHashCheck: boolean;
}

/** What keelctl gets from the process: the composition root passes the real ones, tests fakes. */
export interface CtlIO {
  output: Output;
  /** Everything on standard input (put's value, txn's operations). */
  readStdin(): Promise<Buffer>;
  /** Standard input line by line (interactive txn). */
  stdinLines(): AsyncIterable<string>;
  /** Resolves on SIGINT or SIGTERM, for commands that hold something until stopped (lock, elect). */
  interrupted(): Promise<void>;
  env: NodeJS.ProcessEnv;
  /**
   * Builds a member's data dir from a snapshot file, offline. The storage code that does it sits
   * below the client layer keelctl may use, so the composition root hands it in.
   */
  restoreSnapshot(request: SnapshotRestoreRequest): Promise<void>;
  /** Reads a file given on the command line (TLS certificates). */
  readFile(path: string): Buffer;
}

/** One command's run: its options, its printer and its connections, closed at the end. */
export class CtlContext {
  private printerInstance?: Printer;
  private readonly clients: EtcdClient[] = [];

  constructor(readonly globals: GlobalOptions, readonly io: CtlIO) {}

  get out(): Output {
    return this.io.output;
  }

  /** The printer for -w; created on first use so a bad format fails where etcdctl's does. */
  get printer(): Printer {
    this.printerInstance ??= newPrinter(this.globals.writeOut, this.globals.hex, this.io.output);
    return this.printerInstance;
  }

  /**
   * A client on the first endpoint that connects within the dial timeout, as clientv3's balancer
   * would pick one. With none reachable the command fails as etcdctl 3.4's does.
   */
  async client(options: { logIn?: boolean } = {}): Promise<EtcdClient> {
    void this.printer; // etcdctl checks -w while it builds its client, before any request
    const logIn = options.logIn ?? true;
    for (const ep of this.globals.endpoints) {
      const c = this.clientFor(ep);
      const connected = await c.waitForReady(new Date(Date.now() + this.globals.dialTimeoutMs)).then(() => true, () => false);
      if (!connected) continue;
      if (logIn) await this.logIn(c);
      return c;
    }
    // With --user, clientv3 fails while fetching its token: etcdctl's bad-connection exit.
    throw new CtlError(logIn && this.globals.user !== undefined ? ExitCode.BadConnection : ExitCode.Error, 'context deadline exceeded');
  }

  /**
   * etcdctl's mustClientFromCmd for the commands that then call each endpoint on its own (defrag,
   * endpoint status and hashkv, move-leader): with --user, log in first, so a refused or
   * unreachable login ends the command (exit 2) before any endpoint is visited.
   */
  async checkLogIn(): Promise<void> {
    if (this.globals.user !== undefined) await this.client();
  }

  /**
   * A client on exactly this endpoint, logged in there with --user, as clientv3's Dial(endpoint)
   * gives the maintenance calls (defrag, hashkv, status, health, move-leader, snapshot). Its calls
   * wait for the connection, so an endpoint that never answers ends in 'context deadline exceeded'
   * after `waitMs` (the command timeout, as etcdctl's). A refused login rejects with a CtlError
   * (exit 2) whose message is the server's.
   */
  async endpointClient(endpoint: string, waitMs = this.globals.commandTimeoutMs): Promise<EtcdClient> {
    const c = this.clientFor(endpoint);
    const connected = await c.waitForReady(new Date(Date.now() + waitMs)).then(() => true, () => false);
    if (!connected) throw new Error('context deadline exceeded');
    await this.logIn(c);
    return c;
  }

  /** With --user, Authenticate first; a refusal exits as etcdctl's does (bad connection). */
  private async logIn(c: EtcdClient): Promise<void> {
    const { user, password } = this.globals;
    if (user === undefined) return;
    const colon = user.indexOf(':');
    const [name, secret] = colon < 0 ? [user, password] : [user.slice(0, colon), user.slice(colon + 1)];
    if (secret === undefined) throw new CtlError(ExitCode.BadArgs, 'password not provided: give --user name:password or --password');
    try {
      await c.authenticate(name, secret);
    } catch (err) {
      // clientv3 goes on without a token when the cluster has auth disabled.
      if (errorText(err) === AUTH_NOT_ENABLED) return;
      throw new CtlError(ExitCode.BadConnection, errorText(err));
    }
  }

  /** A client on this endpoint without waiting for the connection (the first call waits). */
  clientFor(endpoint: string, commandTimeoutMs = this.globals.commandTimeoutMs): EtcdClient {
    const c = new EtcdClient(grpcTarget(endpoint), {
      commandTimeoutMs, channelOptions: { 'grpc.use_local_subchannel_pool': 1 }, ...this.credentials(endpoint),
    });
    this.clients.push(c);
    return c;
  }

  close(): void {
    for (const c of this.clients) c.close();
  }

  /** TLS as etcdctl decides it: for an https endpoint or when any certificate flag is given. */
  private credentials(endpoint: string): { credentials?: grpc.ChannelCredentials } {
    const g = this.globals;
    if (!endpoint.startsWith('https://') && g.cacert === undefined && g.cert === undefined && g.key === undefined) return {};
    const read = (path: string | undefined) => (path === undefined ? null : this.io.readFile(path));
    const verify = g.insecureSkipTlsVerify ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {};
    return { credentials: grpc.credentials.createSsl(read(g.cacert), read(g.key), read(g.cert), verify) };
  }
}

/** etcdctl takes endpoints as host:port or as URLs (from the member list); gRPC wants host:port. */
export function grpcTarget(endpoint: string): string {
  return endpoint.replace(/^(https?|unix|unixs):\/\//, '');
}
