import { invariant } from '../util/invariant';

/**
 * The last indexes of MsgApps sent to one follower and not yet acknowledged. When `size` are in
 * flight the leader stops sending to it: a slow follower cannot make the leader buffer without bound.
 */
export class Inflights {
  private buffer: number[] = [];

  constructor(readonly size: number) {}

  add(lastIndex: number): void {
    invariant(!this.full(), 'cannot add into a full inflights');
    this.buffer.push(lastIndex);
  }

  /** Frees every message whose last index is <= `to` (all acknowledged by one response). */
  freeLE(to: number): void {
    let n = 0;
    while (n < this.buffer.length && this.buffer[n]! <= to) n++;
    if (n > 0) this.buffer = this.buffer.slice(n);
  }

  freeFirstOne(): void {
    this.buffer = this.buffer.slice(1);
  }

  full(): boolean {
    return this.buffer.length >= this.size;
  }

  count(): number {
    return this.buffer.length;
  }

  reset(): void {
    this.buffer = [];
  }
}
