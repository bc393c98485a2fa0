import { Clock } from '../util/clock';

/**
 * etcd's simple tokens: issued by Authenticate through the log, so every member knows each token;
 * held in memory only (a restart asks clients to authenticate again, as etcd's does); a token
 * lives `ttlMs` from its last use.
 */
export class SimpleTokens {
  private readonly tokens = new Map<string, { user: string; expiresAtMs: number }>();

  constructor(private readonly clock: Clock, private readonly ttlMs: number) {}

  assign(token: string, user: string): void {
    const now = this.clock.nowMs();
    for (const [t, entry] of this.tokens) if (entry.expiresAtMs <= now) this.tokens.delete(t);
    this.tokens.set(token, { user, expiresAtMs: now + this.ttlMs });
  }

  /** The user a live token belongs to, its life extended by this use; undefined if unknown or expired. */
  user(token: string): string | undefined {
    const entry = this.tokens.get(token);
    const now = this.clock.nowMs();
    if (entry === undefined || entry.expiresAtMs <= now) {
      this.tokens.delete(token);
      return undefined;
    }
    entry.expiresAtMs = now + this.ttlMs;
    return entry.user;
  }

  /** A deleted user, or one with a new password, keeps no session. */
  invalidateUser(user: string): void {
    for (const [t, entry] of this.tokens) if (entry.user === user) this.tokens.delete(t);
  }

  clear(): void {
    this.tokens.clear();
  }
}
