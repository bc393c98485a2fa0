#!/usr/bin/env node
import { Command } from 'commander';
import { ApiServer } from '../controlplane/apiserver/http-server';
import { EtcdEndpoints } from '../controlplane/apiserver/etcd-endpoints';

/** An etcd client URL (http://host:port) or a bare host:port, as the gRPC channel dials it. */
function endpointOf(server: string): string {
  if (!server.includes('://')) return server;
  const u = new URL(server);
  return `${u.hostname}:${u.port || '2379'}`;
}

/** The `keel-apiserver` binary: one stateless replica of the Kubernetes-shaped API over Keel (or etcd). */
async function main(): Promise<void> {
  const program = new Command('keel-apiserver')
    .description('A thin Kubernetes apiserver on an etcd v3 store (Keel or etcd)')
    .option('--etcd-servers <urls>', 'comma-separated etcd client URLs; calls fail over between them', 'http://127.0.0.1:2379')
    .option('--listen-address <host:port>', 'where to serve plain HTTP', '127.0.0.1:8080')
    .showHelpAfterError();
  program.parse(process.argv);
  const opts = program.opts<{ etcdServers: string; listenAddress: string }>();
  const m = /^(.*):(\d+)$/.exec(opts.listenAddress);
  if (!m) program.error(`--listen-address must be host:port, got ${JSON.stringify(opts.listenAddress)}`);
  const etcd = new EtcdEndpoints(opts.etcdServers.split(',').map((s) => endpointOf(s.trim())).filter((s) => s !== ''));
  const server = new ApiServer(etcd);
  const address = await server.listen(m![1]!.replace(/^\[(.*)\]$/, '$1'), Number(m![2])); // [::1]:8080 listens on ::1
  // Tests and scripts wait for this line to know where the server listens (port 0 picks one).
  process.stdout.write(`keel-apiserver listening on http://${address.address}:${address.port}\n`);
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
