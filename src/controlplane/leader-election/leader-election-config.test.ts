import assert from 'node:assert/strict';
import { validateLeaderElectionConfig, type LeaderElectionConfig } from './leader-election-config';

const defaults: LeaderElectionConfig = {
  namespace: 'kube-system', name: 'kube-scheduler', identity: 'host_1',
  leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, releaseOnCancel: true,
};

describe('leader election config', () => {
  it('accepts client-go\'s defaults (15 s / 10 s / 2 s)', () => assert.doesNotThrow(() => validateLeaderElectionConfig(defaults)));

  const refused: Array<[string, Partial<LeaderElectionConfig>, string]> = [
    ['a lease no longer than the renew deadline', { leaseDurationMs: 10_000 }, 'leaseDuration must be greater than renewDeadline'],
    ['a renew deadline within one jittered retry', { renewDeadlineMs: 2_400 }, 'renewDeadline must be greater than retryPeriod*JitterFactor'],
    ['a zero retry period', { retryPeriodMs: 0 }, 'retryPeriod must be greater than zero'],
    ['a negative renew deadline', { renewDeadlineMs: -1, retryPeriodMs: -1 }, 'renewDeadline must be greater than zero'],
    ['an empty identity', { identity: '' }, 'Lock identity is empty'],
  ];
  for (const [what, change, message] of refused) {
    it(`refuses ${what}`, () => assert.throws(() => validateLeaderElectionConfig({ ...defaults, ...change }), { message }));
  }
});
