import type { KubeObject } from '../kube-object';
import { ApiError } from './status-error';
import { MASTERS_GROUP, type UserInfo } from './user-info';

/** What a request asks to do, as an authorizer sees it. */
export interface RequestAttributes {
  user: UserInfo;
  /** get, list, watch, create, update, patch, delete. */
  verb: string;
  /** Set for a request on a resource; undefined for a plain path (/healthz, /metrics, discovery). */
  resource?: { apiGroup: string; resource: string; subresource: string; namespace: string; name: string };
  path: string;
  /** The request body (create, update, patch), for decisions about what is written. */
  body?: KubeObject;
  /** Reads the object the request acts on as stored now (undefined if there is none). */
  current(): Promise<KubeObject | undefined>;
}

export type Decision = { decision: 'allow' } | { decision: 'deny'; reason: string } | { decision: 'no-opinion' };

export interface Authorizer {
  authorize(a: RequestAttributes): Promise<Decision>;
}

const ALLOW: Decision = { decision: 'allow' };
const NO_OPINION: Decision = { decision: 'no-opinion' };

/** Health and version, for everyone, as Kubernetes' system:public-info-viewer role grants. */
const PUBLIC_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version']);
/** Discovery, for every authenticated user, as the system:discovery role grants. */
const DISCOVERY = /^\/(api|apis|openapi)(\/|$)/;

/** The authorizers kube-apiserver always puts first: system:masters, public info, discovery. */
export const builtIn: Authorizer = {
  async authorize(a) {
    if (a.user.groups.includes(MASTERS_GROUP)) return ALLOW;
    if (a.resource === undefined && a.verb === 'get') {
      if (PUBLIC_PATHS.has(a.path)) return ALLOW;
      if (DISCOVERY.test(a.path) && a.user.groups.includes('system:authenticated')) return ALLOW;
    }
    return NO_OPINION;
  },
};

export const alwaysAllow: Authorizer = { authorize: async () => ALLOW };

/** Asks each authorizer in turn; the first that allows or denies decides; none: denied. */
export function chain(authorizers: Authorizer[]): Authorizer {
  return {
    async authorize(a) {
      for (const z of authorizers) {
        const d = await z.authorize(a);
        if (d.decision !== 'no-opinion') return d;
      }
      return { decision: 'deny', reason: '' };
    },
  };
}

/** The 403 Kubernetes answers, in its words: `pods "p" is forbidden: User "u" cannot create resource "pods" …`. */
export function forbidden(a: RequestAttributes, reason: string): ApiError {
  const r = a.resource;
  if (r === undefined) {
    return new ApiError(403, 'Forbidden', `forbidden: User "${a.user.name}" cannot ${a.verb} path "${a.path}"${reason ? `: ${reason}` : ''}`, {});
  }
  const full = r.subresource ? `${r.resource}/${r.subresource}` : r.resource;
  // The subject is the group-qualified resource (deployments.apps), without the subresource.
  const qualified = r.apiGroup ? `${r.resource}.${r.apiGroup}` : r.resource;
  const what = r.name ? `${qualified} "${r.name}"` : qualified;
  const scope = r.namespace ? `in the namespace "${r.namespace}"` : 'at the cluster scope';
  const because = reason ? `: ${reason}` : '';
  return new ApiError(403, 'Forbidden', `${what} is forbidden: User "${a.user.name}" cannot ${a.verb} resource "${full}" in API group "${r.apiGroup}" ${scope}${because}`,
    { ...(r.name ? { name: r.name } : {}), group: r.apiGroup, kind: r.resource });
}
