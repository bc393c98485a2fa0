import { NodeId } from '../raft/types';
import { Logger } from '../util/logger';
import { ServerError } from './errors';
import { Member } from './membership';

export interface LeaderTransferDeps {
  memberId: bigint;
  leader(): NodeId;
  members(): Member[];
  /** Starts Raft's leadership transfer (MsgTransferLeader). */
  transfer(to: NodeId): void;
  timeoutMs: number;
  log: Logger;
}

/**
 * etcd's MoveLeader: only the leader hands over, only to a voting member, and the answer waits
 * until the target leads, or fails after the request timeout with etcd's error.
 */
export class LeaderTransfer {
  private readonly waiting = new Set<() => void>();

  constructor(private readonly d: LeaderTransferDeps) {}

  async moveTo(target: bigint): Promise<void> {
    if (this.d.leader() !== this.d.memberId) throw new ServerError('not-leader');
    const member = this.d.members().find((m) => m.id === target);
    if (member === undefined || member.isLearner) throw new ServerError('bad-leader-transferee');
    if (target === this.d.memberId) return;
    this.d.log.info('leadership transfer starting', { 'current-leader': this.d.memberId.toString(16), target: target.toString(16) });
    let timer: NodeJS.Timeout | undefined;
    let check: () => void = () => {};
    const led = new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new ServerError('leader-transfer-timeout')), this.d.timeoutMs);
      check = () => {
        if (this.d.leader() === target) resolve();
      };
      this.waiting.add(check);
    });
    try {
      this.d.transfer(target);
      await led;
      this.d.log.info('leadership transfer finished', { 'new-leader': target.toString(16) });
    } finally {
      clearTimeout(timer);
      this.waiting.delete(check);
    }
  }

  /** Told on every leader change this member sees. */
  leaderChanged(): void {
    for (const check of [...this.waiting]) check();
  }
}
