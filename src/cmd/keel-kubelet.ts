#!/usr/bin/env node
import { InvalidArgumentError } from 'commander';
import { Kubelet } from '../controlplane/kubelet/kubelet';
import { componentClient, componentCommand, componentLogger, type ComponentFlags } from './controlplane-flags';
import { duration } from './keel-flags';

interface KubeletFlags extends ComponentFlags {
  nodeName: string;
  nodeRoles: string;
  rootDir: string;
  port: number;
  podManifestPath?: string;
  nodeLeaseRenewInterval: number;
  nodeStatusUpdateFrequency: number;
  restartBackoff: number;
  simulate?: boolean;
  simulateNodes?: number;
}

function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a whole number`);
  return n;
}

/** `keel-kubelet`: the node agent of one worker (or, with --simulate-nodes, of many simulated ones). */
async function main(): Promise<void> {
  const program = componentCommand('keel-kubelet', 'Registers a node and runs the pods bound to it as local processes')
    .requiredOption('--node-name <name>', 'the Node this kubelet registers and serves')
    .option('--node-roles <roles>', 'comma-separated roles: control-plane, etcd, worker (labels node-role.kubernetes.io/<role>; control-plane and etcd add their taints)', 'worker')
    .option('--root-dir <dir>', 'where pod logs and state are kept', '/var/lib/keel-kubelet')
    .option('--port <port>', 'port of the container log API (0: any free one)', count, 10250)
    .option('--pod-manifest-path <dir>', 'directory of static pod manifests to run, each with a mirror pod')
    .option('--node-lease-renew-interval <duration>', 'how often the node Lease is renewed', duration, 10_000)
    .option('--node-status-update-frequency <duration>', 'how often the node status is posted', duration, 10_000)
    .option('--restart-backoff <duration>', 'first wait before restarting a failed container (doubles up to 5m)', duration, 10_000)
    .option('--simulate', 'run nothing: report bound pods Running at once (kwok style, for scale runs)')
    .option('--simulate-nodes <n>', 'with --simulate: register n nodes named <node-name>-0 … -(n-1)', count);
  program.parse(process.argv);
  const flags = program.opts<KubeletFlags>();
  if (flags.simulateNodes !== undefined && !flags.simulate) program.error('keel-kubelet: --simulate-nodes needs --simulate');
  const logger = componentLogger('keel-kubelet', flags);
  const client = componentClient('keel-kubelet', flags);
  const kubelet = new Kubelet(client, {
    nodeName: flags.nodeName, roles: flags.nodeRoles.split(',').map((r) => r.trim()).filter((r) => r !== ''),
    rootDir: flags.rootDir, port: flags.port, leaseRenewMs: flags.nodeLeaseRenewInterval, statusEveryMs: flags.nodeStatusUpdateFrequency,
    backoffMs: flags.restartBackoff, maxBackoffMs: 300_000, simulate: flags.simulate === true,
    ...(flags.simulateNodes === undefined ? {} : { simulateNodes: flags.simulateNodes }),
    ...(flags.podManifestPath === undefined ? {} : { podManifestPath: flags.podManifestPath }),
  }, logger);
  const stop = () => void kubelet.stop().then(() => {
    client.close();
    process.exit(0);
  });
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const port = await kubelet.start();
  // Tests and scripts wait for this line.
  process.stdout.write(`keel-kubelet ${flags.nodeName} ready, serving logs on 127.0.0.1:${port}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`keel-kubelet: ${(err as Error).message}\n`);
  process.exit(1);
});
