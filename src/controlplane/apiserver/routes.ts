import { findResource, type ResourceInfo } from './resources';

/** A request for a resource, parsed from its path. */
export interface ResourceRoute {
  resource: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/**
 * Parses `/api/v1/…` and `/apis/<group>/<version>/…` into the resource, namespace, name and
 * subresource; undefined for any other path (discovery, health and such are matched elsewhere).
 */
export function parseResourcePath(path: string): ResourceRoute | undefined {
  const parts = path.split('/').filter((p) => p !== '').map(decodeURIComponent);
  let group: string;
  let rest: string[];
  if (parts[0] === 'api' && parts[1] === 'v1') {
    group = '';
    rest = parts.slice(1);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1]!;
    rest = parts.slice(2);
  } else {
    return undefined;
  }
  const version = rest[0]!;
  rest = rest.slice(1);
  let namespace: string | undefined;
  // namespaces/<ns>/<resource>… is a namespaced resource; namespaces[/<name>[/status]] is the Namespace itself.
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resourceName, name, subresource, ...extra] = rest;
  if (resourceName === undefined || extra.length > 0) return undefined;
  const resource = findResource(group, version, resourceName);
  if (resource === undefined) return undefined;
  if (namespace !== undefined && !resource.namespaced) return undefined;
  if (subresource !== undefined && !resource.subresources.includes(subresource as never)) return undefined;
  return {
    resource,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(subresource !== undefined ? { subresource } : {}),
  };
}
