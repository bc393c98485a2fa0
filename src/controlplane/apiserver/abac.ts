import type { Authorizer, Decision, RequestAttributes } from './authz';

/** One line of an ABAC policy file (abac.authorization.kubernetes.io/v1beta1 Policy spec). */
interface PolicySpec {
  user?: string;
  group?: string;
  readonly?: boolean;
  apiGroup?: string;
  namespace?: string;
  resource?: string;
  nonResourcePath?: string;
}

const READ = new Set(['get', 'list', 'watch']);

/**
 * kube-apiserver's ABAC mode (--authorization-mode=ABAC --authorization-policy-file): one JSON
 * Policy object per line; a request is allowed if any line matches its user or group, its verb
 * (readonly lines match reads only) and its resource, namespace and API group, or its path.
 * "*" matches anything; a cluster-scoped request matches only namespace "*".
 */
export function abacAuthorizer(policyFile: string): Authorizer {
  const policies = parsePolicies(policyFile);
  return {
    async authorize(a: RequestAttributes): Promise<Decision> {
      return policies.some((p) => matches(p, a)) ? { decision: 'allow' } : { decision: 'no-opinion' };
    },
  };
}

export function parsePolicies(text: string): PolicySpec[] {
  const out: PolicySpec[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    let p: { apiVersion?: string; kind?: string; spec?: PolicySpec };
    try {
      p = JSON.parse(line);
    } catch (err) {
      throw new Error(`policy file line ${i + 1}: ${(err as Error).message}`);
    }
    if (p.kind !== 'Policy' || p.apiVersion !== 'abac.authorization.kubernetes.io/v1beta1' || typeof p.spec !== 'object') {
      throw new Error(`policy file line ${i + 1}: want {"apiVersion":"abac.authorization.kubernetes.io/v1beta1","kind":"Policy","spec":{…}}`);
    }
    if (!p.spec.user && !p.spec.group) throw new Error(`policy file line ${i + 1}: a policy names a user or a group`);
    out.push(p.spec);
  });
  return out;
}

const wild = (pattern: string | undefined, value: string) => pattern === '*' || pattern === value;

function matches(p: PolicySpec, a: RequestAttributes): boolean {
  const subject = (p.user !== undefined && wild(p.user, a.user.name)) || (p.group !== undefined && (p.group === '*' || a.user.groups.includes(p.group)));
  if (!subject) return false;
  if (p.readonly && !READ.has(a.verb)) return false;
  const r = a.resource;
  if (r === undefined) {
    const path = p.nonResourcePath;
    if (path === undefined) return false;
    return path === '*' || path === a.path || (path.endsWith('*') && a.path.startsWith(path.slice(0, -1)));
  }
  return wild(p.resource, r.resource) && wild(p.apiGroup, r.apiGroup) && (p.namespace === '*' || (r.namespace !== '' && p.namespace === r.namespace));
}
