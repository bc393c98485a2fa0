import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { ApiError } from './status-error';
import { AUTHENTICATED_GROUP, type UserInfo } from './user-info';

export interface AuthnOptions {
  /** From --token-auth-file: bearer token → user. */
  tokens?: Map<string, UserInfo>;
  /** --anonymous-auth (true by default, as in Kubernetes): a request with no credentials is system:anonymous. */
  anonymous: boolean;
}

export const ANONYMOUS: UserInfo = { name: 'system:anonymous', groups: ['system:unauthenticated'] };

export function unauthorized(): ApiError {
  return new ApiError(401, 'Unauthorized', 'Unauthorized');
}

/**
 * Who sent a request: a bearer token from the token file, else a client certificate the CA
 * verified (CN is the user, each O a group, as kube-apiserver reads them), else anonymous if
 * allowed. A token that is not in the file is a 401 even when a certificate is present, as a wrong
 * credential must never fall back to a weaker one.
 */
export function authenticate(req: IncomingMessage, opts: AuthnOptions): UserInfo {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const user = m ? opts.tokens?.get(m[1]!) : undefined;
    if (user === undefined) throw unauthorized();
    return withAuthenticated(user);
  }
  const socket = req.socket as TLSSocket;
  if (socket.encrypted && socket.authorized) {
    const subject = socket.getPeerCertificate().subject;
    const orgs = subject?.O;
    const name = Array.isArray(subject?.CN) ? subject.CN[0] : subject?.CN;
    if (name) return withAuthenticated({ name, groups: orgs === undefined ? [] : Array.isArray(orgs) ? orgs : [orgs] });
  }
  if (!opts.anonymous) throw unauthorized();
  return ANONYMOUS;
}

function withAuthenticated(u: UserInfo): UserInfo {
  return { ...u, groups: [...u.groups, AUTHENTICATED_GROUP] };
}
