import { NONE } from '../raft/types';
import { ServerError } from './errors';
import { RaftNode } from './raft-node';

/** How often a read-index request without an answer is asked again (etcd: 500 ms). */
const READ_RETRY_MS = 500;

/**
 * A read round's context: the member's ID, then the round's number. The leader keys pending reads
 * by context alone, and counts a heartbeat answer carrying one towards the read waiting on it, so
 * no two members may send the same (an answer delayed from another member's round would confirm
 * a read it was sent before, as etcd's request IDs, prefixed by the member's, also rule out).
 */
export function readContext(member: bigint, round: number): Buffer {
  const ctx = Buffer.alloc(16);
  ctx.writeBigUInt64BE(member, 0);
  ctx.writeBigUInt64BE(BigInt(round), 8);
  return ctx;
}

/** When a read round began while this member led, and in which term. */
interface Leading {
  at: number;
  term: number;
}

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
  private round: { ctx: string; waiters: Waiter[]; retry: NodeJS.Timeout; leading: Leading | undefined } | undefined;
  private seq = 0;
  /** The newest round a quorum answered while this member led: when it began, in which term. */
  private confirmed: Leading | undefined;
  /** The readers of answered rounds, waiting for the member to apply up to their read index. */
  private readonly applying = new Set<Waiter[]>();

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

  /**
   * Resolves once a quorum has confirmed that this member leads: at once if a round begun less
   * than `withinMs` ago did, in this term. The followers that answered it heard from this leader
   * after it began, and with check-quorum none of them votes for another until an election timeout
   * has passed since (etcd raft's lease-based reads rest on the same bound). A leadership transfer
   * lets a follower campaign at once, so none may be under way, nor have been when the round began.
   */
  confirmLeadership(withinMs: number): Promise<void> {
    const raft = this.node.raw.raft;
    const c = this.confirmed;
    const recent = c !== undefined && raft.state === 'leader' && raft.term === c.term && raft.leadTransferee === NONE
      && performance.now() - c.at < withinMs;
    return recent ? Promise.resolve() : this.read();
  }

  stop(): void {
    if (this.round) clearTimeout(this.round.retry);
    const all = [...this.waiting, ...(this.round?.waiters ?? []), ...[...this.applying].flat()];
    this.waiting = [];
    this.round = undefined;
    this.applying.clear();
    for (const w of all) w.reject(new ServerError('stopped'));
  }

  private startRound(waiters = this.waiting.splice(0)): void {
    // Every reader of a retried round gave up: those that came meanwhile get the round instead.
    if (waiters.length === 0) waiters = this.waiting.splice(0);
    if (waiters.length === 0) {
      this.round = undefined;
      return;
    }
    const ctx = readContext(this.node.raw.raft.id, ++this.seq);
    const retry = setTimeout(() => this.retry(), READ_RETRY_MS);
    const raft = this.node.raw.raft;
    const leading = raft.state === 'leader' && raft.leadTransferee === NONE ? { at: performance.now(), term: raft.term } : undefined;
    this.round = { ctx: ctx.toString('latin1'), waiters, retry, leading };
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
    const raft = this.node.raw.raft;
    if (round.leading !== undefined && raft.state === 'leader' && raft.term === round.leading.term) this.confirmed = round.leading;
    this.applying.add(round.waiters);
    this.waitApplied(index).then(() => {
      this.applying.delete(round.waiters);
      for (const w of round.waiters) w.resolve();
    }, (err: Error) => {
      this.applying.delete(round.waiters);
      for (const w of round.waiters) w.reject(err);
    });
    if (this.waiting.length > 0) this.startRound();
  }
}
