/** A source of randomness that can be replayed: everything random in the Raft core comes from one. */
export interface Rand {
  /** A uniformly random integer in [0, n). */
  intn(n: number): number;
}

/**
 * mulberry32: a small, fast, seedable PRNG with good statistical quality for simulation.
 * Not for cryptography.
 */
export class SeededRand implements Rand {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  intn(n: number): number {
    return Math.floor(this.next() * n);
  }
}
