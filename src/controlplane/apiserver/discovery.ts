import { ALL_VERBS, groupVersion, groupVersions, RESOURCES, type ResourceInfo } from './resources';

/** The Kubernetes release this apiserver answers as; kubectl's dispatcher picks its binary by the minor. */
export const VERSION = {
  major: '1', minor: '32', gitVersion: 'v1.32.0-keel', gitCommit: '', gitTreeState: 'clean', buildDate: '',
  goVersion: '', compiler: 'node', platform: `${process.platform}/${process.arch}`,
};

/** What each subresource answers with and allows. */
const SUBRESOURCE: Record<string, { kind: (r: ResourceInfo) => string; group?: string; version?: string; verbs: string[] }> = {
  status: { kind: (r) => r.kind, verbs: ['get', 'patch', 'update'] },
  binding: { kind: () => 'Binding', verbs: ['create'] },
  scale: { kind: () => 'Scale', group: 'autoscaling', version: 'v1', verbs: ['get', 'patch', 'update'] },
  // kubectl drain looks for this entry, with its group and version, before it evicts.
  eviction: { kind: () => 'Eviction', group: 'policy', version: 'v1', verbs: ['create'] },
  log: { kind: () => 'Pod', verbs: ['get'] },
};

/** `/api`: the legacy core group's versions. */
export function apiVersions(serverAddress: string): object {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

/** `/apis`: the named groups (legacy discovery: kubectl then asks each group/version). */
export function apiGroupList(): object {
  const groups = groupVersions().filter((gv) => gv.group !== '').map((gv) => {
    const v = { groupVersion: groupVersion(gv), version: gv.version };
    return { name: gv.group, versions: [v], preferredVersion: v };
  });
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

/** `/apis/<group>`. */
export function apiGroup(group: string): object | undefined {
  const gv = groupVersions().find((g) => g.group === group);
  if (gv === undefined) return undefined;
  const v = { groupVersion: groupVersion(gv), version: gv.version };
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: [v], preferredVersion: v };
}

/** `/api/v1`, `/apis/<group>/<version>`: the resources of one group/version and their subresources. */
export function apiResourceList(group: string, version: string): object | undefined {
  const served = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (served.length === 0) return undefined;
  const resources: object[] = served.flatMap((r) => [
    {
      name: r.name, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: [...ALL_VERBS],
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}), ...(r.categories.length ? { categories: r.categories } : {}),
    },
    ...r.subresources.map((s) => {
      const sub = SUBRESOURCE[s]!;
      return {
        name: `${r.name}/${s}`, singularName: '', namespaced: r.namespaced, kind: sub.kind(r), verbs: sub.verbs,
        ...(sub.group ? { group: sub.group, version: sub.version } : {}),
      };
    }),
  ]);
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersion({ group, version }), resources };
}

/** The path of the group/version's OpenAPI v3 document, as `/openapi/v3` names it. */
function openApiPath(gv: { group: string; version: string }): string {
  return gv.group === '' ? `api/${gv.version}` : `apis/${gv.group}/${gv.version}`;
}

/** Changes whenever the served kinds do, so kubectl's OpenAPI cache follows. */
const OPENAPI_HASH = Buffer.from(RESOURCES.map((r) => `${groupVersion(r)}/${r.kind}`).join(',')).toString('base64url').slice(0, 16);

/** `/openapi/v3`: one document per group/version. */
export function openApiRoot(): object {
  return {
    paths: Object.fromEntries(groupVersions().map((gv) => [openApiPath(gv), { serverRelativeURL: `/openapi/v3/${openApiPath(gv)}?hash=${OPENAPI_HASH}` }])),
  };
}

/**
 * `/openapi/v3/<gv path>`: just enough for kubectl to find, for each kind, a PATCH operation that
 * takes `fieldValidation`, which makes it leave validation to this server (fieldValidation=Strict)
 * instead of validating against schemas of its own. No schemas: validation is the server's.
 */
export function openApiDocument(path: string): object | undefined {
  const gv = groupVersions().find((g) => openApiPath(g) === path);
  if (gv === undefined) return undefined;
  const paths = Object.fromEntries(RESOURCES.filter((r) => r.group === gv.group && r.version === gv.version).map((r) => [
    `/${path}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.name}/{name}`,
    {
      patch: {
        'x-kubernetes-group-version-kind': { group: r.group, version: r.version, kind: r.kind },
        parameters: [{ name: 'fieldValidation', in: 'query', schema: { type: 'string' } }],
        responses: { 200: { description: 'OK' } },
      },
    },
  ]));
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: VERSION.gitVersion }, paths, components: { schemas: {} } };
}
