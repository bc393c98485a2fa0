#!/usr/bin/env node
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { apiserversFor, clusterLayout, type NodeLayout } from './cluster-layout';
import { kubeconfig } from './kubeconfig';
import { ProcessGroup } from './process-group';

const bin = (name: string) => join(__dirname, `${name}.js`);

/** Timings for demos and fault tests: failures show within seconds instead of a minute. */
const SHORT = {
  election: ['--leader-elect-lease-duration', '4s', '--leader-elect-renew-deadline', '3s', '--leader-elect-retry-period', '500ms'],
  nodeLifecycle: ['--node-monitor-period', '1s', '--node-monitor-grace-period', '8s', '--default-unreachable-toleration-seconds', '5'],
  kubelet: ['--node-lease-renew-interval', '2s', '--node-status-update-frequency', '2s'],
};

interface Options {
  dataDir: string;
  portsFrom: number;
  shortTimeouts: boolean;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1024 || n > 65535 - 50_004) throw new InvalidArgumentError(`"${value}" leaves no room for the cluster's ports (1024 to ${65535 - 50_004})`);
  return n;
}

/** Resolves when `line` appears among the lines a process prints. */
function lineWaiter(pattern: RegExp): { onLine: (line: string) => void; seen: Promise<void> } {
  let done!: () => void;
  const seen = new Promise<void>((r) => (done = r));
  return { onLine: (line) => pattern.test(line) && done(), seen };
}

/**
 * `npm run cluster`: the stacked HA control plane on 127.0.0.1 in the foreground. Three
 * control-plane nodes each run a Keel member, an apiserver, a scheduler, a controller-manager and
 * a kubelet (its node tainted so ordinary pods stay off); two workers run a kubelet. Starts the
 * store first, then the apiservers, then the rest; writes a kubeconfig; Ctrl-C stops everything;
 * a second run reuses the data.
 */
async function main(): Promise<void> {
  const program = new Command('keel-cluster')
    .description('Run a local Keel control plane: 3 control-plane nodes and 2 workers')
    .option('--data-dir <dir>', 'where every node keeps its data; reused on the next run', 'data/cluster')
    .option('--ports-from <port>', 'first port: node i listens from here + 0, 20000, 30000, 40000, 50000', port, 2379)
    .option('--short-timeouts', 'leader election, node heartbeats and eviction in seconds, for demos and fault tests')
    .showHelpAfterError();
  program.parse(process.argv);
  const opts = program.opts<Options>();
  const dataDir = resolve(opts.dataDir);
  const layout = clusterLayout(dataDir, opts.portsFrom);
  const controlPlane = layout.filter((n) => n.role === 'control-plane');
  const group = new ProcessGroup(layout.flatMap((n) => [`${n.name}/keel`, `${n.name}/apiserver`, `${n.name}/scheduler`, `${n.name}/controller-manager`, `${n.name}/kubelet`]));
  for (const n of layout) mkdirSync(n.dir, { recursive: true });

  console.log(`starting 3 Keel members (data in ${dataDir})...`);
  const initialCluster = controlPlane.map((n) => `${n.name}=http://127.0.0.1:${n.keel!.peer}`).join(',');
  await Promise.all(controlPlane.map((n) => {
    const ready = lineWaiter(/member is ready to serve/);
    const k = n.keel!;
    group.start(`${n.name}/keel`, bin('keel'), [
      '--name', n.name, '--data-dir', join(n.dir, 'keel'),
      '--listen-client-urls', `http://127.0.0.1:${k.client}`, '--advertise-client-urls', `http://127.0.0.1:${k.client}`,
      '--listen-peer-urls', `http://127.0.0.1:${k.peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${k.peer}`,
      '--initial-cluster', initialCluster, '--initial-cluster-token', 'keel-control-plane',
      '--listen-metrics-urls', `http://127.0.0.1:${k.metrics}`,
    ], ready.onLine);
    return ready.seen;
  }));

  console.log('starting 3 apiservers...');
  const etcdServers = controlPlane.map((n) => `http://127.0.0.1:${n.keel!.client}`);
  await Promise.all(controlPlane.map((n) => {
    const listening = lineWaiter(/listening on/);
    // Each apiserver talks to its own node's member first, as a stacked control plane does.
    const servers = [etcdServers[controlPlane.indexOf(n)]!, ...etcdServers.filter((_, i) => i !== controlPlane.indexOf(n))];
    group.start(`${n.name}/apiserver`, bin('keel-apiserver'), ['--etcd-servers', servers.join(','), '--listen-address', `127.0.0.1:${n.apiserver}`], listening.onLine);
    return listening.seen;
  }));

  console.log('starting schedulers, controller-managers and kubelets...');
  for (const n of layout) startComponents(group, layout, n, opts.shortTimeouts);

  const config = join(dataDir, 'kubeconfig');
  writeFileSync(config, kubeconfig(apiserversFor(layout, controlPlane[0]!)[0]!));
  console.log([
    '',
    `keel control plane is up: apiservers on ${controlPlane.map((n) => `127.0.0.1:${n.apiserver}`).join(', ')}; Ctrl-C stops everything`,
    'try:',
    `  export KUBECONFIG=${config}`,
    '  kubectl get nodes',
    '  kubectl apply -f examples/hello.yaml',
    '  kubectl get pods -o wide; kubectl logs deployment/hello',
    '',
  ].join('\n'));
}

function startComponents(group: ProcessGroup, layout: NodeLayout[], n: NodeLayout, short: boolean): void {
  const apiservers = ['--apiservers', apiserversFor(layout, n).join(',')];
  if (n.role === 'control-plane') {
    group.start(`${n.name}/scheduler`, bin('keel-scheduler'), [...apiservers, ...(short ? SHORT.election : [])]);
    group.start(`${n.name}/controller-manager`, bin('keel-controller-manager'), [...apiservers, ...(short ? [...SHORT.election, ...SHORT.nodeLifecycle] : [])]);
  }
  group.start(`${n.name}/kubelet`, bin('keel-kubelet'), [
    ...apiservers, '--node-name', n.name,
    '--node-roles', n.role === 'control-plane' ? 'control-plane,etcd' : 'worker',
    '--root-dir', join(n.dir, 'kubelet'), '--port', String(n.kubelet),
    ...(short ? SHORT.kubelet : []),
  ]);
}

main().catch((err: unknown) => {
  process.stderr.write(`keel-cluster: ${(err as Error).message}\n`);
  process.exit(1);
});
