#!/usr/bin/env node
import { Scheduler } from '../controlplane/scheduler/scheduler';
import { addLeaderElectionFlags, componentClient, componentCommand, componentLogger, type ComponentFlags, type LeaderElectionFlags } from './controlplane-flags';
import { runWithLeaderElection } from './leader-elected';

/** `keel-scheduler`: places pending pods on nodes; several replicas, one leading (Lease kube-system/kube-scheduler). */
function main(): void {
  const program = addLeaderElectionFlags(componentCommand('keel-scheduler', 'Binds pods that have no node to the node that fits them best'), 'kube-scheduler');
  program.parse(process.argv);
  const flags = program.opts<ComponentFlags & LeaderElectionFlags>();
  const logger = componentLogger('keel-scheduler', flags);
  const client = componentClient('keel-scheduler', flags);
  const scheduler = new Scheduler(client, logger);
  process.stdout.write(`keel-scheduler running against ${flags.apiservers}\n`);
  runWithLeaderElection({ component: 'keel-scheduler', client, flags, logger, start: () => scheduler.start(), stop: () => scheduler.stop() });
}

try {
  main();
} catch (err) {
  process.stderr.write(`keel-scheduler: ${(err as Error).message}\n`);
  process.exit(1);
}
