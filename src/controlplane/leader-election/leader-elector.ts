import { performance } from 'node:perf_hooks';
import type { Logger } from '../../util/logger';
import { apiPath, LEASES } from '../kube-client/api-path';
import { isAlreadyExists, isConflict, isNotFound } from '../kube-client/kube-api-error';
import type { KubeClient } from '../kube-client/kube-client';
import type { KubeObject } from '../kube-object';
import { JITTER_FACTOR, validateLeaderElectionConfig, type LeaderElectionConfig } from './leader-election-config';
import { kubeMicroTime } from '../kube-time';

export interface LeaderCallbacks {
  /** This candidate now leads: start acting. */
  startedLeading(): void;
  /** It no longer does (lost the lease, or stopped): stop acting at once. */
  stoppedLeading(): void;
  /** Someone (this candidate included) was seen to hold the lease. */
  newLeader?(identity: string): void;
}

/** A Lease's `spec`: the election record. */
interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}


/**
 * client-go's leader election on a `coordination.k8s.io/v1` Lease. A candidate tries every
 * RetryPeriod (jittered) to take the lease; it may once the holder is empty or the record has not
 * changed for leaseDurationSeconds measured on this process's own monotonic clock from when it
 * observed the change, so clock skew between machines does not matter. Every write is a PUT with
 * the resourceVersion last read, so of two racing candidates one gets 409 and loses. The leader
 * renews every RetryPeriod; if it cannot for RenewDeadline it stops leading, before any standby may
 * take over (LeaseDuration > RenewDeadline). There is no fencing: what a leader writes must itself be
 * safe under a duplicate leader (the scheduler's bindings are, through the binding's 409).
 */
export class LeaderElector {
  private lease: KubeObject | undefined;
  private observed = '';
  private observedAt = 0;
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  /** The attempt under way, which a stop waits for: a release racing a renew lost to it (409) and was dropped. */
  private attempting: Promise<void> | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private reportedLeader = '';

  constructor(
    private readonly client: KubeClient,
    private readonly config: LeaderElectionConfig,
    private readonly callbacks: LeaderCallbacks,
    private readonly logger?: Logger,
  ) {
    validateLeaderElectionConfig(config);
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Starts campaigning; keeps trying until it leads, then renews until it loses or is stopped. */
  run(): void {
    this.logger?.info('attempting to acquire leader lease', { lease: this.leaseName() });
    this.schedule(0);
  }

  /** Stops campaigning; a leader stops leading and, with releaseOnCancel, gives the lease up. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.deadline);
    await this.attempting;
    if (!this.leading) return;
    this.leading = false;
    this.callbacks.stoppedLeading();
    if (this.config.releaseOnCancel) await this.release();
  }

  private leaseName(): string {
    return `${this.config.namespace}/${this.config.name}`;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.attempting = this.attempt();
    }, delayMs);
  }

  private async attempt(): Promise<void> {
    const ok = await this.tryAcquireOrRenew().catch((err: unknown) => {
      this.logger?.warn('could not reach the leader lease', { lease: this.leaseName(), error: (err as Error).message });
      return false;
    });
    if (this.stopped) return;
    if (ok) {
      this.armDeadline();
      if (!this.leading) {
        this.leading = true;
        this.logger?.info('successfully acquired lease', { lease: this.leaseName(), identity: this.config.identity });
        this.callbacks.startedLeading();
      }
    }
    const retry = this.config.retryPeriodMs;
    this.schedule(this.leading ? retry : retry * (1 + Math.random() * (JITTER_FACTOR - 1)));
  }

  /** A leader that has not renewed for RenewDeadline, even with a request still hanging, stops leading. */
  private armDeadline(): void {
    clearTimeout(this.deadline);
    this.deadline = setTimeout(() => {
      if (this.stopped || !this.leading) return;
      this.logger?.error('failed to renew lease, leaderelection lost', { lease: this.leaseName(), 'renew-deadline-ms': this.config.renewDeadlineMs });
      this.stopped = true;
      this.leading = false;
      clearTimeout(this.timer);
      this.callbacks.stoppedLeading();
    }, this.config.renewDeadlineMs);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = performance.now();
    const path = apiPath(LEASES, { namespace: this.config.namespace, name: this.config.name });
    // Fast path: a leader whose lease is still valid by its own clock renews on what it last wrote.
    if (this.leading && this.lease !== undefined && this.stillValid(now)) {
      const renewed = await this.write(path, this.record(this.lease.spec, true)).catch(() => undefined);
      if (renewed !== undefined) return true;
    }
    try {
      this.observe(await this.client.get(path), now);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const body = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.config.name, namespace: this.config.namespace }, spec: this.record({}, false) };
      return this.wins(async () => this.observe(await this.client.create(apiPath(LEASES, { namespace: this.config.namespace }), body), now));
    }
    const spec: LeaseSpec = this.lease!.spec ?? {};
    const mine = spec.holderIdentity === this.config.identity;
    if (spec.holderIdentity && !mine && this.stillValid(now)) return false;
    return this.wins(() => this.write(path, this.record(spec, mine)));
  }

  /** Runs a write; false when another candidate wrote first (409), which only means this round is lost. */
  private async wins(write: () => Promise<unknown>): Promise<boolean> {
    try {
      await write();
      return true;
    } catch (err) {
      if (isConflict(err) || isAlreadyExists(err)) return false;
      throw err;
    }
  }

  /** The record to write: a new holder resets acquireTime and counts a transition. */
  private record(old: LeaseSpec, keepAcquisition: boolean): LeaseSpec {
    const now = kubeMicroTime();
    return {
      holderIdentity: this.config.identity,
      leaseDurationSeconds: Math.max(1, Math.round(this.config.leaseDurationMs / 1000)),
      acquireTime: keepAcquisition && old.acquireTime ? old.acquireTime : now,
      renewTime: now,
      leaseTransitions: keepAcquisition ? old.leaseTransitions ?? 0 : (old.holderIdentity === undefined ? 0 : (old.leaseTransitions ?? 0) + 1),
    };
  }

  private async write(path: string, spec: LeaseSpec): Promise<KubeObject> {
    const written = await this.client.update(path, { ...this.lease!, spec });
    this.observe(written, performance.now());
    return written;
  }

  /** Remembers the Lease; a record that changed restarts the expiry clock. */
  private observe(lease: KubeObject, now: number): void {
    this.lease = lease;
    const raw = JSON.stringify(lease.spec ?? {});
    if (raw !== this.observed) {
      this.observed = raw;
      this.observedAt = now;
    }
    const holder: string = lease.spec?.holderIdentity ?? '';
    if (holder !== '' && holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      if (holder !== this.config.identity) this.logger?.info('new leader elected', { lease: this.leaseName(), leader: holder });
      this.callbacks.newLeader?.(holder);
    }
  }

  /** The observed record has not outlived its own leaseDurationSeconds on this process's clock. */
  private stillValid(now: number): boolean {
    const seconds: number = this.lease?.spec?.leaseDurationSeconds ?? 0;
    return this.observedAt + seconds * 1000 > now;
  }

  /** Gives the lease up: an empty holder with a 1 s duration lets a standby take it on its next try. */
  private async release(): Promise<void> {
    if (this.lease === undefined || this.lease.spec?.holderIdentity !== this.config.identity) return;
    const path = apiPath(LEASES, { namespace: this.config.namespace, name: this.config.name });
    try {
      await this.client.update(path, { ...this.lease, spec: { ...this.lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: kubeMicroTime() } });
      this.logger?.info('released leader lease', { lease: this.leaseName() });
    } catch (err) {
      this.logger?.warn('could not release leader lease; standbys will wait out its duration', { lease: this.leaseName(), error: (err as Error).message });
    }
  }
}
