/** Wall time in milliseconds, injected so tests can drive it (composition roots pass the real one). */
export interface Clock {
  nowMs(): number;
}

export const realClock: Clock = { nowMs: () => Date.now() };
