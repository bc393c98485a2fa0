/** Wall time in milliseconds, injected so tests can drive it (composition roots pass the real one). */
export interface Clock {
  nowMs(): number;
}

export const realClock: Clock = { nowMs: () => Date.now() };

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private ms = 0) {}

  nowMs(): number {
    return this.ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}
