import type { InternalRequest } from '../generated/keelpb/InternalRequest';
import { Logger } from '../util/logger';
import { AlarmStore } from './alarm-store';
import { ServerError } from './errors';
import { quotaCost } from './quota';

/** How stale the database size may be; reading it lists the data dir, too costly per request. */
export const SIZE_MAX_AGE_MS = 250;

export interface QuotaGuardDeps {
  /** The quota in bytes (Infinity: none). */
  quotaBytes: number;
  memberId: bigint;
  alarms: AlarmStore;
  dbSize(): Promise<number>;
  /** Proposes NOSPACE for this member through the log. */
  raiseNoSpace(): Promise<unknown>;
  log: Logger;
  /** Milliseconds, for the size's age (Date.now unless a test moves time itself). */
  now?: () => number;
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

  private readonly now: () => number;

  constructor(private readonly d: QuotaGuardDeps) {
    this.now = d.now ?? Date.now;
  }

  async admit(req: InternalRequest): Promise<void> {
    const cost = quotaCost(req);
    // As etcd 3.5: requests that take no space always pass.
    if (cost === 0 || this.d.quotaBytes === Infinity) return;
    // The size as last read plus what was admitted since, refreshed behind the requests: reading
    // it under load (a stat per file, queued in the thread pool behind log writes) took 270 ms,
    // and every write on the member waited for it four times a second.
    if (this.sizeReadAt === -Infinity) await this.dbSize();
    else if (this.now() - this.sizeReadAt >= SIZE_MAX_AGE_MS) this.refreshSize();
    if (this.size + this.admittedSinceRead + cost < this.d.quotaBytes) return this.admitted(cost);
    // A size read before a defragmentation must not refuse a write: look again before refusing.
    if ((await this.dbSize()) + cost < this.d.quotaBytes) return this.admitted(cost);
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

  private refreshSize(): void {
    this.dbSize().catch((err: unknown) => this.d.log.warn('cannot read the database size', { error: String(err) }));
  }

  /** Reads the size, or joins the read under way. */
  private dbSize(): Promise<number> {
    if (this.reading === undefined) {
      const admittedBefore = this.admittedSinceRead;
      this.reading = this.d.dbSize().then((size) => {
        this.size = size;
        this.sizeReadAt = this.now();
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
