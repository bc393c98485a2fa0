import type { InternalRequest } from '../generated/keelpb/InternalRequest';
import { Logger } from '../util/logger';
import { AlarmStore } from './alarm-store';
import { ServerError } from './errors';
import { quotaCost } from './quota';

/** How stale the database size may be; reading it lists the data dir, too costly per request. */
const SIZE_MAX_AGE_MS = 250;

export interface QuotaGuardDeps {
  /** The quota in bytes (Infinity: none). */
  quotaBytes: number;
  memberId: bigint;
  alarms: AlarmStore;
  dbSize(): Promise<number>;
  /** Proposes NOSPACE for this member through the log. */
  raiseNoSpace(): Promise<unknown>;
  log: Logger;
}

/**
 * etcd's quota check in front of writes: a request that costs space and would take the database
 * past the quota is refused with NOSPACE, and this member raises the NOSPACE alarm (once), which
 * then stops every member from applying such requests until an operator disarms it.
 */
export class QuotaGuard {
  private size = 0;
  private sizeReadAt = -Infinity;
  /** Costs admitted since the size was read: a burst shorter than SIZE_MAX_AGE_MS still counts. */
  private admittedSinceRead = 0;
  private reading: Promise<number> | undefined;

  constructor(private readonly d: QuotaGuardDeps) {}

  async admit(req: InternalRequest): Promise<void> {
    const cost = quotaCost(req);
    // As etcd 3.5: requests that take no space always pass.
    if (cost === 0 || this.d.quotaBytes === Infinity) return;
    if ((await this.dbSize(false)) + this.admittedSinceRead + cost < this.d.quotaBytes) return this.admitted(cost);
    // A size read before a defragmentation must not refuse a write: look again before refusing.
    if ((await this.dbSize(true)) + cost < this.d.quotaBytes) return this.admitted(cost);
    const self = this.d.memberId.toString();
    if (!this.d.alarms.list('NOSPACE').some((a) => a.memberID === self)) {
      this.d.log.warn('database space exceeded, raising alarm', { quota: this.d.quotaBytes, 'db-size': this.size });
      await this.d.raiseNoSpace().catch((err: unknown) => this.d.log.warn('could not raise alarm', { error: String(err) }));
    }
    throw new ServerError('no-space');
  }

  private admitted(cost: number): void {
    this.admittedSinceRead += cost;
  }

  private dbSize(fresh: boolean): Promise<number> {
    if (!fresh && Date.now() - this.sizeReadAt < SIZE_MAX_AGE_MS) return Promise.resolve(this.size);
    if (this.reading === undefined) {
      const admittedBefore = this.admittedSinceRead;
      this.reading = this.d.dbSize().then((size) => {
        this.size = size;
        this.sizeReadAt = Date.now();
        // What was admitted before the read began is (about) in the size now; the fresh read
        // before any refusal keeps this estimate from refusing what fits.
        this.admittedSinceRead -= admittedBefore;
        return size;
      }).finally(() => {
        this.reading = undefined;
      });
    }
    return this.reading;
  }
}
