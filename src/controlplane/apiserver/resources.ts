/** The kinds this apiserver serves, as discovery, routing and storage see them. */
export interface ResourceInfo {
  /** The plural lower-case name in URLs and keys: `pods`. */
  readonly name: string;
  readonly singular: string;
  readonly kind: string;
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly subresources: readonly Subresource[];
  /** `kubectl get all` lists the resources in category `all`. */
  readonly categories: readonly string[];
}

export type Subresource = 'status' | 'binding' | 'scale' | 'eviction' | 'log';

export const ALL_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] as const;

function resource(r: Omit<ResourceInfo, 'shortNames' | 'subresources' | 'categories'> & Partial<ResourceInfo>): ResourceInfo {
  return { shortNames: [], subresources: [], categories: [], ...r };
}

export const RESOURCES: readonly ResourceInfo[] = [
  resource({ name: 'namespaces', singular: 'namespace', kind: 'Namespace', group: '', version: 'v1', namespaced: false, shortNames: ['ns'], subresources: ['status'] }),
  resource({ name: 'nodes', singular: 'node', kind: 'Node', group: '', version: 'v1', namespaced: false, shortNames: ['no'], subresources: ['status'] }),
  resource({ name: 'pods', singular: 'pod', kind: 'Pod', group: '', version: 'v1', namespaced: true, shortNames: ['po'], subresources: ['status', 'binding', 'eviction', 'log'], categories: ['all'] }),
  resource({ name: 'services', singular: 'service', kind: 'Service', group: '', version: 'v1', namespaced: true, shortNames: ['svc'], subresources: ['status'], categories: ['all'] }),
  resource({ name: 'endpoints', singular: 'endpoints', kind: 'Endpoints', group: '', version: 'v1', namespaced: true, shortNames: ['ep'] }),
  resource({ name: 'events', singular: 'event', kind: 'Event', group: '', version: 'v1', namespaced: true, shortNames: ['ev'] }),
  resource({ name: 'leases', singular: 'lease', kind: 'Lease', group: 'coordination.k8s.io', version: 'v1', namespaced: true }),
  resource({ name: 'replicasets', singular: 'replicaset', kind: 'ReplicaSet', group: 'apps', version: 'v1', namespaced: true, shortNames: ['rs'], subresources: ['status', 'scale'], categories: ['all'] }),
  resource({ name: 'deployments', singular: 'deployment', kind: 'Deployment', group: 'apps', version: 'v1', namespaced: true, shortNames: ['deploy'], subresources: ['status', 'scale'], categories: ['all'] }),
];

export function groupVersion(r: Pick<ResourceInfo, 'group' | 'version'>): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

/** The resource `name` of group/version, if served. */
export function findResource(group: string, version: string, name: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.name === name);
}

/** Every group/version served, core first, in the order of RESOURCES. */
export function groupVersions(): Array<{ group: string; version: string }> {
  const seen = new Map<string, { group: string; version: string }>();
  for (const r of RESOURCES) seen.set(groupVersion(r), { group: r.group, version: r.version });
  return [...seen.values()];
}
