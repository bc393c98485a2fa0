import { dropFields, unknownFields } from './known-fields';
import { applyPatch, type Json } from './patch';
import { generatedName, timestamp } from './object-meta';
import type { ListOptions, Registry } from './registry';
import { groupVersion, RESOURCES } from './resources';
import type { ResourceRoute } from './routes';
import type { KubeObject } from '../kube-object';
import { podDeletion } from './pod-deletion';
import { parseFieldSelector, parseLabelSelector } from './selectors';
import { ApiError, badRequest, conflict, notFound, undecodable } from './status-error';
import { checkQuantities } from './quantities';
import { applyDefaults, validate, validateImmutable } from './validation';

export interface Reply {
  code: number;
  body: KubeObject;
  /** Sent as `Warning:` headers; kubectl prints them. */
  warnings?: string[];
}

/** `?fieldValidation=`: what to do with fields the kind does not have. Unset means Warn, as in Kubernetes. */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export function fieldValidation(query: URLSearchParams): FieldValidation {
  const mode = query.get('fieldValidation') ?? 'Warn';
  if (mode !== 'Strict' && mode !== 'Warn' && mode !== 'Ignore') throw badRequest(`fieldValidation must be Strict, Warn or Ignore, not ${JSON.stringify(mode)}`);
  return mode;
}

/**
 * Unknown fields: Strict refuses the object (400, in the real apiserver's words), Warn and Ignore
 * drop them, Warn saying so.
 */
function checkFields(obj: KubeObject, mode: FieldValidation, warnings: string[]): void {
  const unknown = unknownFields(obj);
  if (unknown.length === 0) return;
  const text = unknown.map((f) => `unknown field "${f}"`);
  if (mode === 'Strict') {
    throw undecodable(obj.kind, obj.apiVersion, `strict decoding error: ${text.join(', ')}`);
  }
  dropFields(obj, unknown);
  if (mode === 'Warn') warnings.push(...text);
}

const NAMESPACES = RESOURCES.find((r) => r.name === 'namespaces')!;

/** Events expire an hour after they are created, as with kube-apiserver's default --event-ttl. */
const EVENT_TTL_SECONDS = 3600;

/** kube-apiserver refuses to delete these (kube-node-lease it allows). */
const PROTECTED_NAMESPACES = ['default', 'kube-system', 'kube-public'];

/** The query parameters a list or watch takes. */
export function listOptions(route: ResourceRoute, query: URLSearchParams): ListOptions {
  const labels = parseLabelSelector(query.get('labelSelector') ?? undefined);
  const fields = parseFieldSelector(query.get('fieldSelector') ?? undefined, route.resource.kind);
  const limit = Number(query.get('limit') ?? 0);
  // Any other resourceVersion asks for data at least that new, which the latest read always is.
  const exact = query.get('resourceVersionMatch') === 'Exact' ? query.get('resourceVersion') : null;
  if (exact !== null && !/^[1-9]\d*$/.test(exact)) throw badRequest('resourceVersionMatch=Exact needs a resourceVersion');
  return {
    ...(exact !== null ? { revision: exact } : {}),
    ...(route.namespace !== undefined ? { namespace: route.namespace } : {}),
    match: (o) => labels(o) && fields(o),
    ...(limit > 0 ? { limit } : {}),
    ...(query.get('continue') ? { continue: query.get('continue')! } : {}),
  };
}

/**
 * The verbs on a resource and its subresources, in the Kubernetes shape: what the HTTP layer
 * calls once it has parsed the path and the body. Every write goes through the Registry's guarded
 * txns, so a failure (validation included) leaves nothing half-written.
 */
export class RestHandlers {
  constructor(private readonly registry: Registry) {}

  async get(route: ResourceRoute): Promise<Reply> {
    const obj = await this.registry.get(route.resource, route.namespace, route.name!);
    return { code: 200, body: route.subresource === 'scale' ? toScale(obj) : obj };
  }

  async list(route: ResourceRoute, query: URLSearchParams): Promise<Reply> {
    const r = route.resource;
    const res = await this.registry.list(r, listOptions(route, query));
    return {
      code: 200,
      body: {
        kind: `${r.kind}List`, apiVersion: groupVersion(r),
        metadata: { resourceVersion: res.resourceVersion, ...(res.continue ? { continue: res.continue } : {}) },
        items: res.items,
      },
    };
  }

  async create(route: ResourceRoute, body: KubeObject, fields: FieldValidation = 'Warn'): Promise<Reply> {
    const r = route.resource;
    if (route.subresource === 'binding') return this.bind(route, body);
    if (route.subresource === 'eviction') return this.evict(route, body);
    if (route.name !== undefined || route.subresource !== undefined) throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    const obj = this.checkBody(route, body);
    checkQuantities(obj);
    const warnings: string[] = [];
    checkFields(obj, fields, warnings);
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = generatedName(obj.metadata.generateName);
    // The status is the controllers' and kubelets' to report, not the creator's (nodes excepted: a
    // kubelet registers its node with its status), as each kind's create strategy has it.
    if (r.subresources.includes('status') && r.kind !== 'Node') delete obj.status;
    applyDefaults(obj);
    validate(r, obj);
    if (r.namespaced) await this.registry.get(NAMESPACES, undefined, obj.metadata.namespace).catch((err) => {
      throw err instanceof ApiError && err.code === 404 ? notFound('namespaces', obj.metadata.namespace) : err;
    });
    return { code: 201, body: await this.registry.create(r, obj, r.kind === 'Event' ? EVENT_TTL_SECONDS : undefined), warnings };
  }

  /** PUT: the whole object (or its status, or its scale); a stale resourceVersion is a 409. */
  async update(route: ResourceRoute, body: KubeObject, fields: FieldValidation = 'Warn'): Promise<Reply> {
    if (route.subresource === 'scale') {
      return this.scale(route, () => {
        if (body.kind !== 'Scale') throw badRequest(`expected a Scale, got ${body.kind}`);
        return body;
      });
    }
    const obj = this.checkBody(route, body);
    if (obj.metadata.name !== route.name) throw badRequest('the name of the object does not match the name on the URL');
    const warnings: string[] = [];
    // As kube-apiserver: a uid in the object is a precondition, so a PUT meant for an object that
    // was deleted does not overwrite the new one of the same name.
    const uid = obj.metadata.uid;
    const change = (current: KubeObject) => {
      if (uid && uid !== current.metadata.uid) {
        throw conflict(route.resource.name, route.name!, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${current.metadata.uid}`);
      }
      return structuredClone(obj);
    };
    return { code: 200, body: await this.write(route, change, fields, warnings), warnings };
  }

  async patch(route: ResourceRoute, contentType: string, patch: Json, fields: FieldValidation = 'Warn'): Promise<Reply> {
    if (route.subresource === 'scale') return this.scale(route, (scale) => applyPatch(contentType, scale as Json, patch) as KubeObject);
    const warnings: string[] = [];
    const body = await this.write(route, (current) => applyPatch(contentType, current as Json, patch) as KubeObject, fields, warnings);
    return { code: 200, body, warnings };
  }

  /**
   * DELETE: a running pod is deleted gracefully (pod-deletion.ts: deletionTimestamp set, its
   * kubelet finishes it); everything else goes at once. Answers the object.
   */
  async delete(route: ResourceRoute, options: KubeObject): Promise<Reply> {
    const r = route.resource;
    const pre = options.preconditions ?? {};
    const precondition = (current: KubeObject) => {
      if (pre.uid !== undefined && pre.uid !== current.metadata.uid) throw conflict(r.name, route.name!, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`);
      if (pre.resourceVersion !== undefined && pre.resourceVersion !== current.metadata.resourceVersion) {
        throw conflict(r.name, route.name!, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`);
      }
    };
    if (r.kind === 'Pod') {
      let now = false;
      const marked = await this.registry.update(r, route.namespace, route.name!, (obj) => {
        precondition(obj);
        const deletion = podDeletion(obj, options.gracePeriodSeconds);
        now = deletion.kind === 'now';
        if (deletion.kind === 'mark') {
          obj.metadata.deletionTimestamp = deletion.deletionTimestamp;
          obj.metadata.deletionGracePeriodSeconds = deletion.gracePeriodSeconds;
        }
        return obj; // unchanged unless marked: nothing is written
      }, true);
      if (!now) return { code: 200, body: marked };
    }
    if (r.kind === 'Namespace') return { code: 200, body: await this.deleteNamespace(route.name!, precondition) };
    return { code: 200, body: await this.registry.delete(r, route.namespace, route.name!, precondition) };
  }

  /**
   * A namespace goes with everything in it, in one txn. (Kubernetes marks it Terminating and lets
   * the namespace controller empty it; with no such controller yet, the apiserver does it at once.)
   * The namespaces the system relies on cannot be deleted.
   */
  private deleteNamespace(name: string, precondition: (current: KubeObject) => void): Promise<KubeObject> {
    if (PROTECTED_NAMESPACES.includes(name)) throw new ApiError(403, 'Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`);
    const contents = RESOURCES.filter((r) => r.namespaced).map((r) => this.registry.keyPrefix(r, name));
    return this.registry.delete(NAMESPACES, undefined, name, precondition, contents);
  }

  /** The object of a create or update, with the namespace of the URL; kind and apiVersion must be this resource's. */
  private checkBody(route: ResourceRoute, body: KubeObject): KubeObject {
    const r = route.resource;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the body must be a JSON object');
    const gv = groupVersion(r);
    if ((body.kind !== undefined && body.kind !== r.kind) || (body.apiVersion !== undefined && body.apiVersion !== gv)) {
      throw badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${gv})`);
    }
    const obj = { ...body, kind: r.kind, apiVersion: gv, metadata: { ...(body.metadata ?? {}) } };
    if (r.namespaced) {
      if (obj.metadata.namespace !== undefined && route.namespace !== undefined && obj.metadata.namespace !== route.namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      obj.metadata.namespace = route.namespace ?? obj.metadata.namespace ?? 'default';
    } else {
      delete obj.metadata.namespace;
    }
    return obj;
  }

  /**
   * An update of the object (or of its status only): on the main resource the status stays as
   * stored, on `status` everything but the status does, as with the real status subresource.
   */
  private write(route: ResourceRoute, change: (current: KubeObject) => KubeObject, fields: FieldValidation, warnings: string[]): Promise<KubeObject> {
    const r = route.resource;
    return this.registry.update(r, route.namespace, route.name!, (current) => {
      const changed = this.checkBody(route, change(structuredClone(current)));
      // A status write keeps the stored spec: only what it sends is checked (a Node's capacity).
      checkQuantities(route.subresource === 'status' ? { ...changed, spec: undefined } : changed);
      warnings.length = 0; // a retried update reports the fields of its last attempt only
      checkFields(changed, fields, warnings);
      const next = route.subresource === 'status'
        ? { ...current, status: changed.status, metadata: { ...current.metadata, resourceVersion: changed.metadata.resourceVersion } }
        : r.subresources.includes('status') ? { ...changed, status: current.status } : changed;
      if (next.status === undefined) delete next.status;
      applyDefaults(next);
      validate(r, next);
      validateImmutable(r, current, next);
      return next;
    });
  }

  /** `scale`: an autoscaling/v1 Scale view of spec.replicas; `change` gives the new Scale. */
  private async scale(route: ResourceRoute, change: (scale: KubeObject) => KubeObject): Promise<Reply> {
    const obj = await this.registry.update(route.resource, route.namespace, route.name!, (current) => {
      const scale = change(toScale(current));
      const replicas = scale.spec?.replicas;
      if (!Number.isInteger(replicas) || replicas < 0) throw badRequest(`spec.replicas must be a non-negative integer, got ${JSON.stringify(replicas)}`);
      current.spec.replicas = replicas;
      current.metadata.resourceVersion = scale.metadata?.resourceVersion;
      return current;
    });
    return { code: 200, body: toScale(obj) };
  }

  /** `binding`: the scheduler's assignment of a pod to a node; a pod is bound once (409 after). */
  private async bind(route: ResourceRoute, binding: KubeObject): Promise<Reply> {
    const node = binding.target?.name;
    if (!node) throw badRequest('binding.target.name is required');
    await this.registry.update(route.resource, route.namespace, route.name!, (pod) => {
      if (pod.spec.nodeName) throw conflict('pods/binding', route.name!, `pod ${route.name} is already assigned to node "${pod.spec.nodeName}"`);
      if (pod.metadata.deletionTimestamp) throw conflict('pods/binding', route.name!, `pod ${route.name} is being deleted, cannot be assigned to a host`);
      pod.spec.nodeName = node;
      pod.status ??= {};
      pod.status.conditions = [...(pod.status.conditions ?? []).filter((c: KubeObject) => c.type !== 'PodScheduled'),
        { type: 'PodScheduled', status: 'True', lastTransitionTime: timestamp() }];
      return pod;
    });
    return { code: 201, body: SUCCESS_201 };
  }

  /**
   * `eviction` (policy/v1): a delete of the pod with the eviction's DeleteOptions. No
   * PodDisruptionBudgets are served, so nothing ever refuses it with 429.
   */
  private async evict(route: ResourceRoute, eviction: KubeObject): Promise<Reply> {
    if (eviction.kind !== undefined && eviction.kind !== 'Eviction') throw badRequest(`expected an Eviction, got ${eviction.kind}`);
    await this.delete({ resource: route.resource, namespace: route.namespace!, name: route.name! }, eviction.deleteOptions ?? {});
    return { code: 201, body: SUCCESS_201 };
  }
}

/** What a binding or an eviction answers: it created an action, not an object. */
const SUCCESS_201 = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };

function toScale(obj: KubeObject): KubeObject {
  const m = obj.metadata;
  const selector = Object.entries(obj.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  return {
    kind: 'Scale', apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: obj.spec?.replicas ?? 0 },
    status: { replicas: obj.status?.replicas ?? 0, selector },
  };
}
