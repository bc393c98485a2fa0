/** client-go's JitterFactor: candidates wait RetryPeriod × [1, 1.2) between attempts. */
export const JITTER_FACTOR = 1.2;

export interface LeaderElectionConfig {
  /** Where the Lease object lives: kube-system/kube-scheduler, say. */
  namespace: string;
  name: string;
  /** This candidate's holderIdentity: unique per process (`<hostname>_<uuid>`). */
  identity: string;
  /** How long after the last change it observed a standby waits before taking the lease. */
  leaseDurationMs: number;
  /** How long the leader keeps retrying a renewal before it stops leading. */
  renewDeadlineMs: number;
  /** How often candidates try to take, and the leader to renew, the lease. */
  retryPeriodMs: number;
  /** On a clean stop the leader writes an empty holder, so a standby takes over within a retry period. */
  releaseOnCancel: boolean;
}

/**
 * client-go's NewLeaderElector checks, with its messages: the leader must give up (RenewDeadline)
 * before a standby may take over (LeaseDuration), and must get more than one jittered try in that time.
 */
export function validateLeaderElectionConfig(c: LeaderElectionConfig): void {
  if (!(c.leaseDurationMs > c.renewDeadlineMs)) throw new Error('leaseDuration must be greater than renewDeadline');
  if (!(c.renewDeadlineMs > JITTER_FACTOR * c.retryPeriodMs)) throw new Error('renewDeadline must be greater than retryPeriod*JitterFactor');
  if (!(c.leaseDurationMs > 0)) throw new Error('leaseDuration must be greater than zero');
  if (!(c.renewDeadlineMs > 0)) throw new Error('renewDeadline must be greater than zero');
  if (!(c.retryPeriodMs > 0)) throw new Error('retryPeriod must be greater than zero');
  if (c.identity === '') throw new Error('Lock identity is empty');
  if (c.name === '' || c.namespace === '') throw new Error('the Lease needs a namespace and a name');
}
