import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { clusterLayout, type NodeLayout } from '../../src/cmd/cluster-layout';
import { Kubectl } from './kubectl';
import { spawnReaped } from './reaped-spawn';

export const CLUSTER_BIN = join(__dirname, '..', '..', 'src', 'cmd', 'control-plane-cluster.js');

/** `npm run cluster` started by a test: its layout, its output so far, kubectl against it. */
export interface RunningCluster {
  layout: NodeLayout[];
  kubectl: Kubectl;
  /** Every line the runner printed, in order (each prefixed `<node>/<process> |`). */
  lines: string[];
  logFile: string;
  /** The pid of one process of the cluster, such as `cp1/scheduler` or `worker2/kubelet`. */
  pidOf(name: string): number;
  /** Ctrl-C: stops every process and waits for the runner to exit. */
  stop(): Promise<void>;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false)).listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A --ports-from value whose every port of the layout is free now. */
async function freeBase(): Promise<number> {
  for (;;) {
    const base = 3000 + Math.floor(Math.random() * 12_000);
    const ports = clusterLayout('/', base).flatMap((n) => [n.kubelet, n.apiserver, n.keel?.client, n.keel?.peer, n.keel?.metrics]).filter((p): p is number => p !== undefined);
    if ((await Promise.all(ports.map(canListen))).every(Boolean)) return base;
  }
}

/** What `pgrep -f` finds a process of the runner by: its script and the arguments only it has. */
function pattern(layout: NodeLayout[], name: string): string {
  const [nodeName, proc] = name.split('/') as [string, string];
  const node = layout.find((n) => n.name === nodeName);
  if (!node) throw new Error(`no node ${nodeName}`);
  switch (proc) {
    case 'keel': return `keel.js --name ${node.name} --data-dir ${node.dir}/keel`;
    case 'apiserver': return `keel-apiserver.js .*--listen-address 127.0.0.1:${node.apiserver}`;
    case 'kubelet': return `keel-kubelet.js .*--node-name ${node.name} `;
    // A node's scheduler and controller-manager name their own apiserver first.
    case 'scheduler': return `keel-scheduler.js --apiservers http://127.0.0.1:${node.apiserver},`;
    case 'controller-manager': return `keel-controller-manager.js --apiservers http://127.0.0.1:${node.apiserver},`;
    default: throw new Error(`no process ${proc}`);
  }
}

/** Runs `control-plane-cluster --short-timeouts` in `dir` and resolves once it says it is up. */
export async function startControlPlaneCluster(dir: string): Promise<RunningCluster> {
  const base = await freeBase();
  const dataDir = join(dir, 'cluster');
  const layout = clusterLayout(dataDir, base);
  const logFile = join(dir, 'cluster.log');
  const log = createWriteStream(logFile);
  const child: ChildProcess = spawnReaped(process.execPath, [CLUSTER_BIN, '--data-dir', dataDir, '--ports-from', String(base), '--short-timeouts'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const onLine = (line: string) => {
      lines.push(line);
      log.write(`${line}\n`);
      if (line.startsWith('keel control plane is up')) resolve();
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    void exited.then(() => reject(new Error(`the cluster runner exited before it was up; see ${logFile}`)));
  });
  const apiserver = `http://127.0.0.1:${layout[0]!.apiserver}`;
  return {
    layout, lines, logFile,
    kubectl: await Kubectl.forServer(dir, apiserver),
    pidOf: (name) => Number(execFileSync('pgrep', ['-f', pattern(layout, name)], { encoding: 'utf8' }).trim().split('\n')[0]),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      await exited;
      log.end();
    },
  };
}
