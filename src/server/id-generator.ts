/**
 * Unique request IDs, as etcd's idutil: the member's low 16 bits, then a millisecond timestamp
 * taken at start, then a counter. IDs from before a restart cannot collide with new ones.
 */
export class IdGenerator {
  private next: bigint;
  private static readonly MASK = (1n << 48n) - 1n;

  constructor(memberId: bigint, startMs: number) {
    const prefix = (memberId & 0xffffn) << 48n;
    this.next = prefix | ((BigInt(startMs) << 8n) & IdGenerator.MASK);
  }

  nextId(): string {
    const high = this.next >> 48n;
    this.next = (high << 48n) | ((this.next + 1n) & IdGenerator.MASK);
    return this.next.toString();
  }
}
