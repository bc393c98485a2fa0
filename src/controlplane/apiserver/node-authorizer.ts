import type { Authorizer, Decision, RequestAttributes } from './authz';
import { NODE_USER_PREFIX, NODES_GROUP } from './user-info';

const READ = new Set(['get', 'list', 'watch']);
/** Kinds a kubelet reads to do its work (Kubernetes narrows gets to related objects with a graph; this does not). */
const READABLE = new Set(['nodes', 'pods', 'services', 'endpoints', 'namespaces', 'leases', 'events']);
const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

const allow: Decision = { decision: 'allow' };
const deny = (reason: string): Decision => ({ decision: 'deny', reason });

/**
 * The Node authorizer and NodeRestriction admission in one: a kubelet (user system:node:<name> in
 * group system:nodes) may read what it needs, write its own Node and its node Lease, report the
 * status of pods bound to it, finish their deletion, create mirror pods bound to itself, and
 * record events; nothing of another node. Other users: no opinion.
 */
export const nodeAuthorizer: Authorizer = {
  async authorize(a: RequestAttributes): Promise<Decision> {
    if (!a.user.groups.includes(NODES_GROUP) || !a.user.name.startsWith(NODE_USER_PREFIX)) return { decision: 'no-opinion' };
    const node = a.user.name.slice(NODE_USER_PREFIX.length);
    const r = a.resource;
    if (r === undefined) return { decision: 'no-opinion' };
    if (READ.has(a.verb) && READABLE.has(r.resource)) return allow;
    const named = r.name || a.body?.metadata?.name || '';
    switch (r.resource) {
      case 'nodes':
        if (a.verb === 'delete') return deny(`node "${node}" is not allowed to delete nodes`);
        return named === node ? allow : deny(`node "${node}" is not allowed to modify node "${named}"`);
      case 'leases':
        if (r.namespace !== 'kube-node-lease') return deny(`node "${node}" may only write its Lease in kube-node-lease`);
        return named === node ? allow : deny(`node "${node}" is not allowed to modify the lease of node "${named}"`);
      case 'events':
        return a.verb === 'create' || a.verb === 'patch' || a.verb === 'update' ? allow : { decision: 'no-opinion' };
      case 'pods':
        return podDecision(a, node);
      default:
        return { decision: 'no-opinion' };
    }
  },
};

async function podDecision(a: RequestAttributes, node: string): Promise<Decision> {
  const r = a.resource!;
  if (a.verb === 'create' && r.subresource === '') {
    const pod = a.body;
    if (pod?.metadata?.annotations?.[MIRROR_ANNOTATION] === undefined) return deny(`node "${node}" can only create mirror pods`);
    return pod.spec?.nodeName === node ? allow : deny(`node "${node}" can only create pods with spec.nodeName set to itself`);
  }
  const writesStatus = r.subresource === 'status' && (a.verb === 'update' || a.verb === 'patch');
  if (!writesStatus && !(a.verb === 'delete' && r.subresource === '')) return { decision: 'no-opinion' };
  const pod = await a.current();
  if (pod === undefined) return allow; // the handler answers 404
  const boundTo: string = pod.spec?.nodeName ?? '';
  return boundTo === node ? allow : deny(`node "${node}" can only ${a.verb} pods bound to it, not one on "${boundTo}"`);
}
