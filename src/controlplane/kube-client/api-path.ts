/** Where a kind lives in the REST API: `/api/v1` for the core group, `/apis/<group>/<version>` otherwise. */
export interface ResourceType {
  group: string;
  version: string;
  /** The plural resource name in the URL: pods, nodes, leases. */
  resource: string;
  namespaced: boolean;
}

export const PODS: ResourceType = { group: '', version: 'v1', resource: 'pods', namespaced: true };
export const NODES: ResourceType = { group: '', version: 'v1', resource: 'nodes', namespaced: false };
export const NAMESPACES: ResourceType = { group: '', version: 'v1', resource: 'namespaces', namespaced: false };
export const SERVICES: ResourceType = { group: '', version: 'v1', resource: 'services', namespaced: true };
export const ENDPOINTS: ResourceType = { group: '', version: 'v1', resource: 'endpoints', namespaced: true };
export const EVENTS: ResourceType = { group: '', version: 'v1', resource: 'events', namespaced: true };
export const LEASES: ResourceType = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespaced: true };
export const REPLICA_SETS: ResourceType = { group: 'apps', version: 'v1', resource: 'replicasets', namespaced: true };
export const DEPLOYMENTS: ResourceType = { group: 'apps', version: 'v1', resource: 'deployments', namespaced: true };

/**
 * The URL path of a collection (no name) or an object, optionally one of its subresources. A
 * namespaced type without a namespace is the collection across all namespaces.
 */
export function apiPath(type: ResourceType, at: { namespace?: string; name?: string; subresource?: string } = {}): string {
  let path = type.group === '' ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  if (type.namespaced && at.namespace !== undefined) path += `/namespaces/${encodeURIComponent(at.namespace)}`;
  path += `/${type.resource}`;
  if (at.name !== undefined) path += `/${encodeURIComponent(at.name)}`;
  if (at.subresource !== undefined) {
    if (at.name === undefined) throw new Error(`subresource ${at.subresource} needs an object name`);
    path += `/${at.subresource}`;
  }
  return path;
}
