import { ServerError } from './errors';
import { RaftNode } from './raft-node';

/** How often a read-index request without an answer is asked again (etcd: 500 ms). */
const READ_RETRY_MS = 500;

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

/**
 * Linearizable reads by ReadIndex, batched as etcd does: reads that arrive while a round is in
 * flight wait for the next one, and one round (one heartbeat quorum) releases them all once the
 * applied index reaches the read index.
 */
export class LinearizableReads {
  private waiting: Waiter[] = [];
  private round: { ctx: string; waiters: Waiter[]; retry: NodeJS.Timeout } | undefined;
  private seq = 0;

  constructor(
    private readonly node: RaftNode,
    private readonly waitApplied: (index: number) => Promise<void>,
    private readonly requestTimeoutMs: number,
  ) {
    node.onReadState((ctx, index) => this.answered(Buffer.from(ctx).toString('latin1'), index));
  }

  /** Resolves when the local state reflects every write committed before the call. */
  read(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w !== waiter);
        if (this.round) this.round.waiters = this.round.waiters.filter((w) => w !== waiter);
        const lead = this.node.raw.raft.lead;
        reject(new ServerError(lead === 0n ? 'no-leader' : 'timeout'));
      }, this.requestTimeoutMs);
      const waiter: Waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.waiting.push(waiter);
      if (this.round === undefined) this.startRound();
    });
  }

  stop(): void {
    if (this.round) clearTimeout(this.round.retry);
    const all = [...this.waiting, ...(this.round?.waiters ?? [])];
    this.waiting = [];
    this.round = undefined;
    for (const w of all) w.reject(new ServerError('stopped'));
  }

  private startRound(waiters = this.waiting.splice(0)): void {
    if (waiters.length === 0) {
      this.round = undefined; // every reader of a retried round gave up
      return;
    }
    const ctx = Buffer.alloc(8);
    ctx.writeBigUInt64BE(BigInt(++this.seq));
    const retry = setTimeout(() => this.retry(), READ_RETRY_MS);
    this.round = { ctx: ctx.toString('latin1'), waiters, retry };
    this.node.readIndex(ctx);
  }

  /** No answer yet: ask again, unless there is no leader to ask, which readers learn at once. */
  private retry(): void {
    const waiters = this.round?.waiters ?? [];
    if (this.node.raw.raft.lead === 0n) {
      this.round = undefined;
      for (const w of waiters) w.reject(new ServerError('no-leader'));
      if (this.waiting.length > 0) this.startRound();
      return;
    }
    this.startRound(waiters);
  }

  private answered(ctx: string, index: number): void {
    const round = this.round;
    if (round === undefined || round.ctx !== ctx) return;
    clearTimeout(round.retry);
    this.round = undefined;
    this.waitApplied(index).then(() => {
      for (const w of round.waiters) w.resolve();
    }, (err: Error) => {
      for (const w of round.waiters) w.reject(err);
    });
    if (this.waiting.length > 0) this.startRound();
  }
}
