import jwt from 'jsonwebtoken';
import type { TokenHolder, TokenProvider } from './auth-tokens';

/** etcd's --auth-token jwt options, with the key files already read. */
export interface JwtOptions {
  /** Verifies tokens; every member has it. */
  publicKey: Buffer;
  /** Signs tokens; a member without it cannot issue any (etcd's verify-only members). */
  privateKey?: Buffer;
  /** RS256, RS384, RS512, PS256…, ES256, ES384, ES512. */
  signMethod: jwt.Algorithm;
  ttlMs: number;
}

/** The claims etcd puts in its tokens. */
interface Claims {
  username: string;
  revision: number;
}

/**
 * etcd's JWT tokens: signed by the member that authenticates the user, carrying the user and the
 * auth revision they were issued at, verified by any member with the public key; nothing is kept.
 * Nothing can withdraw a token before it expires; instead any auth change (a new password, a
 * revoked role) raises the auth revision, and a token issued before it is refused as "revision of
 * auth store is old", which sends clients back to authenticate.
 */
export class JwtTokens implements TokenProvider {
  constructor(private readonly o: JwtOptions) {}

  issue(user: string, authRevision: number): string {
    if (this.o.privateKey === undefined) throw new Error('this member has no --auth-token priv-key to sign tokens with');
    const claims: Claims = { username: user, revision: authRevision };
    return jwt.sign(claims, this.o.privateKey, { algorithm: this.o.signMethod, expiresIn: Math.ceil(this.o.ttlMs / 1000) });
  }

  assign(): void {
    // Nothing to remember: the signature is the proof.
  }

  holder(token: string): TokenHolder | undefined {
    try {
      const claims = jwt.verify(token, this.o.publicKey, { algorithms: [this.o.signMethod] }) as Partial<Claims>;
      if (typeof claims.username !== 'string' || typeof claims.revision !== 'number') return undefined;
      return { user: claims.username, revision: claims.revision };
    } catch {
      return undefined; // forged, malformed or expired
    }
  }

  invalidateUser(): void {
    // A JWT cannot be withdrawn; the auth revision in it retires it instead.
  }

  clear(): void {}
}
