/**
 * Runs an async task for a key one run at a time. Asks that arrive while a run is in flight fold
 * into a single run after it, so the last run always starts after the last ask. For reporting
 * state that changes fast: two reports in flight at once can land in either order, and the stale
 * one would win.
 */
export class SerialPerKey {
  private readonly inFlight = new Map<string, { again: boolean }>();

  /** `task` handles its own errors: a rejection would go unhandled. */
  constructor(private readonly task: (key: string) => Promise<void>) {}

  request(key: string): void {
    const running = this.inFlight.get(key);
    if (running !== undefined) {
      running.again = true;
      return;
    }
    const state = { again: false };
    this.inFlight.set(key, state);
    void (async () => {
      try {
        do {
          state.again = false;
          await this.task(key);
        } while (state.again);
      } finally {
        this.inFlight.delete(key);
      }
    })();
  }

  /** Whether a run for `key` is in flight. */
  busy(key: string): boolean {
    return this.inFlight.has(key);
  }
}
