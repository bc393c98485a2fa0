import type { KubeClient } from '../controlplane/kube-client/kube-client';
import { LeaderElector } from '../controlplane/leader-election/leader-elector';
import type { Logger } from '../util/logger';
import { leaderIdentity, type LeaderElectionFlags } from './controlplane-flags';

export interface ElectedComponent {
  /** The binary's name, for logs. */
  component: string;
  client: KubeClient;
  flags: LeaderElectionFlags;
  logger: Logger;
  /** Begins the component's work; called once this replica leads (or at once without --leader-elect). */
  start(): void | Promise<void>;
  /** Ends it; called on SIGTERM/SIGINT. */
  stop(): void | Promise<void>;
}

/**
 * Runs a component the way kube-scheduler and kube-controller-manager run: only while it holds the
 * Lease. A replica that loses the lease exits with "leaderelection lost" rather than trying to stop
 * its work half-way, and a restarted replica campaigns afresh. SIGTERM/SIGINT stop the work and
 * release the lease, so a standby takes over within a retry period.
 */
export function runWithLeaderElection(c: ElectedComponent): void {
  let elector: LeaderElector | undefined;
  let shuttingDown = false;
  const shutdown = async () => {
    shuttingDown = true;
    c.logger.info('shutting down');
    await elector?.stop();
    await c.stop();
    c.client.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
  if (!c.flags.leaderElect) {
    c.logger.info('leader election is off; starting');
    void Promise.resolve(c.start()).catch(fail(c));
    return;
  }
  elector = new LeaderElector(c.client, {
    namespace: c.flags.leaderElectResourceNamespace,
    name: c.flags.leaderElectResourceName,
    identity: leaderIdentity(),
    leaseDurationMs: c.flags.leaderElectLeaseDuration,
    renewDeadlineMs: c.flags.leaderElectRenewDeadline,
    retryPeriodMs: c.flags.leaderElectRetryPeriod,
    releaseOnCancel: true,
  }, {
    startedLeading: () => void Promise.resolve(c.start()).catch(fail(c)),
    stoppedLeading: () => {
      if (shuttingDown) return; // a clean stop releases the lease; that is not a loss
      c.logger.error('leaderelection lost');
      process.exit(1);
    },
  }, c.logger);
  elector.run();
}

function fail(c: ElectedComponent): (err: unknown) => void {
  return (err) => {
    c.logger.error('could not start', { component: c.component, error: (err as Error).message });
    process.exit(1);
  };
}
