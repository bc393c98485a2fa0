import { randomBytes } from 'node:crypto';
import { Clock } from '../util/clock';

/** Who a token names, and for a JWT the auth revision it was issued at. */
export interface TokenHolder {
  user: string;
  revision?: number;
}

/**
 * etcd's token providers (--auth-token simple or jwt): the proposer of an Authenticate issues the
 * token, every member learns of it by applying the Authenticate, and calls present it.
 */
export interface TokenProvider {
  issue(user: string, authRevision: number): string;
  assign(token: string, user: string): void;
  /** Who presents `token`; undefined if it is unknown, forged or expired. */
  holder(token: string): TokenHolder | undefined;
  /** A deleted user, or one with a new password, keeps no session. */
  invalidateUser(user: string): void;
  clear(): void;
}

/** Random letters, as etcd's simple tokens start (`abcDEFghiJKLmnoP.7`). */
function randomTokenLetters(): string {
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  return [...randomBytes(16)].map((byte) => letters[byte % letters.length]).join('');
}

/**
 * etcd's simple tokens: issued by Authenticate through the log, so every member knows each token;
 * held in memory only (a restart asks clients to authenticate again, as etcd's does); a token
 * lives `ttlMs` from its last use.
 */
export class SimpleTokens implements TokenProvider {
  private readonly tokens = new Map<string, { user: string; expiresAtMs: number }>();
  private issued = 0;

  constructor(private readonly clock: Clock, private readonly ttlMs: number) {}

  issue(): string {
    return `${randomTokenLetters()}.${++this.issued}`;
  }

  assign(token: string, user: string): void {
    const now = this.clock.nowMs();
    for (const [t, entry] of this.tokens) if (entry.expiresAtMs <= now) this.tokens.delete(t);
    this.tokens.set(token, { user, expiresAtMs: now + this.ttlMs });
  }

  /** The user a live token belongs to, its life extended by this use; undefined if unknown or expired. */
  holder(token: string): TokenHolder | undefined {
    const entry = this.tokens.get(token);
    const now = this.clock.nowMs();
    if (entry === undefined || entry.expiresAtMs <= now) {
      this.tokens.delete(token);
      return undefined;
    }
    entry.expiresAtMs = now + this.ttlMs;
    return { user: entry.user };
  }

  invalidateUser(user: string): void {
    for (const [t, entry] of this.tokens) if (entry.user === user) this.tokens.delete(t);
  }

  clear(): void {
    this.tokens.clear();
  }
}
