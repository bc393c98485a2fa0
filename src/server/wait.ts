/**
 * Proposers wait here for the result of applying their entry, matched by request ID. Entries
 * proposed elsewhere (or before a restart) have no waiter and their results are dropped.
 */
export class Wait<T> {
  private readonly waiters = new Map<string, (result: T) => void>();

  /** How many proposers are waiting. */
  get size(): number {
    return this.waiters.size;
  }

  register(id: string): Promise<T> {
    return new Promise((resolve) => this.waiters.set(id, resolve));
  }

  trigger(id: string, result: T): void {
    const resolve = this.waiters.get(id);
    if (resolve === undefined) return;
    this.waiters.delete(id);
    resolve(result);
  }

  /** Settles every waiter with the same result, e.g. when the server stops. */
  triggerAll(result: T): void {
    for (const resolve of this.waiters.values()) resolve(result);
    this.waiters.clear();
  }
}
