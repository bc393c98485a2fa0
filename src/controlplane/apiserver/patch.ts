import { badRequest, ApiError } from './status-error';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7386 JSON merge patch: objects merge, `null` deletes, anything else (lists too) replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k] ?? null, v);
  }
  return out;
}

/**
 * The lists of built-in kinds that a strategic merge patch merges element by element, by this
 * key, rather than replacing (the `patchMergeKey` tags of the Go types kubectl apply relies on).
 * A list not named here is replaced whole: a Node's `taints` among them, which `kubectl taint`
 * sends complete.
 */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name', initContainers: 'name', ephemeralContainers: 'name', env: 'name', volumes: 'name',
  volumeMounts: 'mountPath', imagePullSecrets: 'name', conditions: 'type',
  hostAliases: 'ip', readinessGates: 'conditionType', ownerReferences: 'uid',
};

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/**
 * The merge key of list `name` under `parent` (the field or list holding it), for the lists whose
 * key depends on where they are: a container's `ports` by containerPort, a Service's `spec.ports`
 * by port, a Node's `status.addresses` by type (an Endpoints subset's lists have none).
 */
function mergeKeyOf(name: string, parent: string | undefined): string | undefined {
  if (name === 'ports') return parent !== undefined && CONTAINER_LISTS.has(parent) ? 'containerPort' : parent === 'spec' ? 'port' : undefined;
  if (name === 'addresses') return parent === 'status' ? 'type' : undefined;
  return MERGE_KEYS[name];
}

/**
 * Strategic merge patch for the fields kubectl's apply, label, cordon, taint and scale touch: merge
 * patch, except that lists with a merge key (MERGE_KEYS) merge by it, and the directives
 * `$patch: delete|replace` (on objects and list elements), `$retainKeys`,
 * `$deleteFromPrimitiveList/<list>` and `$setElementOrder/<list>` are honoured.
 */
export function strategicMergePatch(target: Json, patch: Json, field?: string): Json {
  if (!isObject(patch)) return patch;
  if (patch.$patch === 'replace') return withoutDirectives(patch);
  if (patch.$patch === 'delete') return null;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const list = k.slice('$deleteFromPrimitiveList/'.length);
      const drop = new Set((v as Json[]).map((x) => JSON.stringify(x)));
      const current = out[list];
      if (Array.isArray(current)) out[list] = current.filter((x) => !drop.has(JSON.stringify(x)));
      continue;
    }
    const key = Array.isArray(v) ? mergeKeyOf(k, field) : undefined;
    if (v === null) delete out[k];
    else if (Array.isArray(v) && key !== undefined && Array.isArray(out[k])) out[k] = mergeList(out[k] as Json[], v, key, k);
    else if (Array.isArray(v)) out[k] = v.filter((e) => !(isObject(e) && e.$patch === 'delete')).map(withoutDirectives);
    else out[k] = strategicMergePatch(out[k] ?? null, v, k);
    if (out[k] === null) delete out[k];
  }
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) for (const k of Object.keys(out)) if (!retain.includes(k) && !(k in patch)) delete out[k];
  return out;
}

/** Merges the elements of list `name` by `key`; an element's own lists have `name` as their parent. */
function mergeList(current: Json[], patch: Json[], key: string, name: string): Json[] {
  const out = [...current];
  for (const p of patch) {
    if (!isObject(p) || p[key] === undefined) {
      out.push(p);
      continue;
    }
    const i = out.findIndex((e) => isObject(e) && e[key] === p[key]);
    if (p.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) out[i] = strategicMergePatch(out[i]!, p, name);
    else out.push(withoutDirectives(p));
  }
  return out;
}

function withoutDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(withoutDirectives);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) out[k] = withoutDirectives(x);
  return out;
}

/** RFC 6901: `/a/b~1c` → ['a', 'b/c']. */
function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw badRequest(`invalid JSON pointer ${JSON.stringify(path)}`);
  return path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

interface Op { op: string; path: string; value?: Json; from?: string }

/** RFC 6902 JSON patch, applied to a copy: a failing operation (a `test` too) leaves `doc` as it was. */
export function jsonPatch(doc: Json, ops: unknown): Json {
  if (!Array.isArray(ops)) throw badRequest('a JSON patch must be a list of operations');
  let root = structuredClone(doc);
  const parentOf = (path: string[]): [Json, string] => {
    let node = root;
    for (const part of path.slice(0, -1)) {
      const next = Array.isArray(node) ? node[Number(part)] : isObject(node) ? node[part] : undefined;
      if (next === undefined) throw unprocessable(`path /${path.join('/')} does not exist`);
      node = next;
    }
    return [node, path[path.length - 1]!];
  };
  const get = (path: string[]): Json => {
    if (path.length === 0) return root;
    const [parent, last] = parentOf(path);
    const v = Array.isArray(parent) ? parent[Number(last)] : isObject(parent) ? parent[last] : undefined;
    if (v === undefined) throw unprocessable(`path /${path.join('/')} does not exist`);
    return v;
  };
  const remove = (path: string[]): Json => {
    const v = get(path);
    const [parent, last] = parentOf(path);
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete (parent as JsonObject)[last];
    return v;
  };
  const add = (path: string[], value: Json, replace: boolean) => {
    if (path.length === 0) {
      root = value;
      return;
    }
    const [parent, last] = parentOf(path);
    if (Array.isArray(parent)) {
      const i = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(i) || i < 0 || i > parent.length) throw unprocessable(`index ${last} is out of range`);
      parent.splice(i, replace ? 1 : 0, value);
    } else if (isObject(parent)) parent[last] = value;
    else throw unprocessable(`cannot add to a scalar at /${path.join('/')}`);
  };
  for (const raw of ops as Op[]) {
    const path = pointer(String(raw.path));
    switch (raw.op) {
      case 'add': add(path, raw.value ?? null, false); break;
      case 'remove': remove(path); break;
      case 'replace': get(path); add(path, raw.value ?? null, true); break;
      case 'move': add(path, remove(pointer(String(raw.from))), false); break;
      case 'copy': add(path, structuredClone(get(pointer(String(raw.from)))), false); break;
      case 'test':
        if (JSON.stringify(get(path)) !== JSON.stringify(raw.value)) throw unprocessable(`test at ${raw.path} failed`);
        break;
      default: throw badRequest(`unknown JSON patch operation ${JSON.stringify(raw.op)}`);
    }
  }
  return root;
}

function unprocessable(message: string): ApiError {
  return new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${message}`);
}

/** The patch types of `Content-Type`, as kubectl sends them. */
export function applyPatch(contentType: string, target: Json, patch: Json): Json {
  const type = contentType.split(';')[0]!.trim();
  if (type === 'application/merge-patch+json') return mergePatch(target, patch);
  if (type === 'application/strategic-merge-patch+json') return strategicMergePatch(target, patch);
  if (type === 'application/json-patch+json') return jsonPatch(target, patch);
  throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`);
}

export type { Json };
