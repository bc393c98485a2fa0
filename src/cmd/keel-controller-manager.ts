#!/usr/bin/env node
import { InvalidArgumentError } from 'commander';
import { ControllerManager } from '../controlplane/controllers/controller-manager';
import { addLeaderElectionFlags, componentClient, componentCommand, componentLogger, type ComponentFlags, type LeaderElectionFlags } from './controlplane-flags';
import { duration } from './keel-flags';
import { runWithLeaderElection } from './leader-elected';

interface Flags extends ComponentFlags, LeaderElectionFlags {
  nodeMonitorPeriod: number;
  nodeMonitorGracePeriod: number;
  defaultUnreachableTolerationSeconds: number;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a whole number of seconds`);
  return n;
}

/** `keel-controller-manager`: the controllers, several replicas, one leading (Lease kube-system/kube-controller-manager). */
function main(): void {
  const program = addLeaderElectionFlags(componentCommand('keel-controller-manager', 'Runs the ReplicaSet, Deployment, Endpoints, node lifecycle and garbage collection controllers'), 'kube-controller-manager')
    .option('--node-monitor-period <duration>', 'how often node health is checked', duration, 5_000)
    .option('--node-monitor-grace-period <duration>', 'how long a node may stay silent before it is marked Unknown', duration, 50_000)
    .option('--default-unreachable-toleration-seconds <n>', 'how long pods stay on an unreachable or not-ready node unless they tolerate it otherwise', seconds, 300);
  program.parse(process.argv);
  const flags = program.opts<Flags>();
  const logger = componentLogger('keel-controller-manager', flags);
  const client = componentClient('keel-controller-manager', flags);
  const manager = new ControllerManager(client, {
    monitorPeriodMs: flags.nodeMonitorPeriod, gracePeriodMs: flags.nodeMonitorGracePeriod, defaultTolerationSeconds: flags.defaultUnreachableTolerationSeconds,
  }, logger);
  process.stdout.write(`keel-controller-manager running against ${flags.apiservers}\n`);
  runWithLeaderElection({ component: 'keel-controller-manager', client, flags, logger, start: () => manager.start(), stop: () => manager.stop() });
}

try {
  main();
} catch (err) {
  process.stderr.write(`keel-controller-manager: ${(err as Error).message}\n`);
  process.exit(1);
}
