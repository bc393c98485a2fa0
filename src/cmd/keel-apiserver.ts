#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { abacAuthorizer } from '../controlplane/apiserver/abac';
import { alwaysAllow, type Authorizer } from '../controlplane/apiserver/authz';
import { ApiServer, type ApiServerOptions } from '../controlplane/apiserver/http-server';
import { EtcdEndpoints } from '../controlplane/apiserver/etcd-endpoints';
import { nodeAuthorizer } from '../controlplane/apiserver/node-authorizer';
import { parseTokenFile } from '../controlplane/apiserver/token-file';
import { isLoopback, splitHostPort } from '../util/host-port';

interface Flags {
  etcdServers: string;
  listenAddress: string;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  clientCaFile?: string;
  tokenAuthFile?: string;
  anonymousAuth: boolean;
  authorizationMode: string;
  authorizationPolicyFile?: string;
}

/** An etcd client URL (http://host:port) or a bare host:port, as the gRPC channel dials it. */
function endpointOf(server: string): string {
  if (!server.includes('://')) return server;
  const u = new URL(server);
  return `${u.hostname}:${u.port || '2379'}`;
}

/** kube-apiserver's authentication and authorization flags as the server's options. */
function securityOptions(f: Flags): ApiServerOptions {
  if ((f.tlsCertFile === undefined) !== (f.tlsPrivateKeyFile === undefined)) throw new Error('--tls-cert-file and --tls-private-key-file go together');
  if (f.clientCaFile !== undefined && f.tlsCertFile === undefined) throw new Error('--client-ca-file needs --tls-cert-file: client certificates come over TLS');
  const authorizers: Authorizer[] = f.authorizationMode.split(',').map((mode) => {
    switch (mode.trim()) {
      case 'AlwaysAllow': return alwaysAllow;
      case 'Node': return nodeAuthorizer;
      case 'ABAC':
        if (f.authorizationPolicyFile === undefined) throw new Error('--authorization-mode=ABAC needs --authorization-policy-file');
        return abacAuthorizer(readFileSync(f.authorizationPolicyFile, 'utf8'));
      default: throw new Error(`--authorization-mode: unknown mode ${JSON.stringify(mode)} (AlwaysAllow, Node, ABAC)`);
    }
  });
  return {
    ...(f.tlsCertFile === undefined ? {} : {
      tls: {
        cert: readFileSync(f.tlsCertFile), key: readFileSync(f.tlsPrivateKeyFile!),
        ...(f.clientCaFile === undefined ? {} : { clientCa: readFileSync(f.clientCaFile) }),
      },
    }),
    authn: { anonymous: f.anonymousAuth, ...(f.tokenAuthFile === undefined ? {} : { tokens: parseTokenFile(readFileSync(f.tokenAuthFile, 'utf8')) }) },
    authorizers,
  };
}

/** The `keel-apiserver` binary: one stateless replica of the Kubernetes-shaped API over Keel (or etcd). */
async function main(): Promise<void> {
  const program = new Command('keel-apiserver')
    .description('A thin Kubernetes apiserver on an etcd v3 store (Keel or etcd)')
    .option('--etcd-servers <urls>', 'comma-separated etcd client URLs; calls fail over between them', 'http://127.0.0.1:2379')
    .option('--listen-address <host:port>', 'where to serve (HTTPS with --tls-cert-file, else plain HTTP)', '127.0.0.1:8080')
    .option('--tls-cert-file <file>', 'serving certificate (PEM)')
    .option('--tls-private-key-file <file>', 'its private key (PEM)')
    .option('--client-ca-file <file>', 'CA that signs client certificates; a verified one authenticates its CN as the user and each O as a group')
    .option('--token-auth-file <file>', 'bearer tokens, CSV lines: token,user,uid,"group1,group2"')
    .option('--no-anonymous-auth', 'answer 401 to requests without credentials instead of treating them as system:anonymous')
    .option('--authorization-mode <modes>', 'comma-separated, tried in order: AlwaysAllow, Node, ABAC (system:masters may always do anything)', 'AlwaysAllow')
    .option('--authorization-policy-file <file>', 'ABAC policies, one JSON Policy object per line')
    .showHelpAfterError();
  program.parse(process.argv);
  const flags = program.opts<Flags>();
  let options: ApiServerOptions;
  let address: { host: string; port: number };
  try {
    options = securityOptions(flags);
    address = splitHostPort(flags.listenAddress);
  } catch (err) {
    program.error(`keel-apiserver: ${(err as Error).message}`);
  }
  if (options!.tls === undefined && !isLoopback(flags.listenAddress)) {
    process.stderr.write(`keel-apiserver: WARNING: serving plain HTTP on ${flags.listenAddress}, a non-loopback address: anyone who can reach it can read and change the cluster; use --tls-cert-file and --tls-private-key-file\n`);
  }
  const etcd = new EtcdEndpoints(flags.etcdServers.split(',').map((s) => endpointOf(s.trim())).filter((s) => s !== ''));
  const server = new ApiServer(etcd, options!);
  const bound = await server.listen(address!.host, address!.port);
  // Tests and scripts wait for this line to know where the server listens (port 0 picks one).
  process.stdout.write(`keel-apiserver listening on ${options!.tls ? 'https' : 'http'}://${bound.address}:${bound.port}\n`);
  const stop = () => void server.close().then(() => {
    etcd.close();
    process.exit(0);
  });
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`keel-apiserver: ${(err as Error).message}\n`);
  process.exit(1);
});
