import type { ServiceError } from '@grpc/grpc-js';
import { status as grpcStatus } from '@grpc/grpc-js';
import { prefixRangeEnd } from '../../client/key-ranges';
import type { KeyValue__Output } from '../../generated/mvccpb/KeyValue';
import type { EtcdEndpoints } from './etcd-endpoints';
import { carryServerMeta, initialiseMeta, timestamp } from './object-meta';
import { LeaseReuse } from './lease-reuse';
import { sameJson } from './same-json';
import type { ResourceInfo } from './resources';
import type { KubeObject } from '../kube-object';
import type { Selector } from './selectors';
import { alreadyExists, ApiError, badRequest, conflict, expired, notFound } from './status-error';

export interface ListOptions {
  /** Every namespace when absent (and always for cluster-scoped resources). */
  namespace?: string;
  match?: Selector;
  /** At most this many items; the rest follow with `continue`. */
  limit?: number;
  continue?: string;
  /** Read at this revision (resourceVersionMatch=Exact) rather than the latest. */
  revision?: string;
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
}

/** A list's continue token: the revision of its first page, and the key to go on from after the list's prefix. */
interface ContinueToken { rv: string; start: string }

/** Keys per store read of a list: a big list is read in pages at one revision, bounding each answer. */
const STORE_PAGE = 500;

/**
 * Objects in the store the way kube-apiserver keeps them in etcd: JSON at
 * `/registry/<resource>/<namespace>/<name>` (no namespace for cluster-scoped kinds), with
 * `resourceVersion` = the key's mod_revision (never stored, filled in on read). Every write is a
 * txn guarded by the revision it read, so concurrent writers cannot lose each other's changes.
 */
export class Registry {
  private readonly leases: LeaseReuse;

  constructor(private readonly etcd: EtcdEndpoints, private readonly prefix = '/registry') {
    this.leases = new LeaseReuse(etcd);
  }

  key(r: ResourceInfo, namespace: string | undefined, name: string): string {
    return r.namespaced ? `${this.prefix}/${r.name}/${namespace}/${name}` : `${this.prefix}/${r.name}/${name}`;
  }

  /** The prefix of every key of `r`, or of those in one namespace. */
  keyPrefix(r: ResourceInfo, namespace?: string): string {
    return r.namespaced && namespace !== undefined ? `${this.prefix}/${r.name}/${namespace}/` : `${this.prefix}/${r.name}/`;
  }

  async get(r: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject> {
    const res = await this.etcd.run((c) => c.range({ key: Buffer.from(this.key(r, namespace, name)) }));
    const kv = res.kvs[0];
    if (kv === undefined) throw notFound(r.name, name);
    return decode(kv);
  }

  /**
   * One snapshot of `r`, page by page: a page reads at the first page's revision and is filled up
   * to `limit` matching items, as the real apiserver does when a selector filters.
   */
  async list(r: ResourceInfo, opts: ListOptions = {}): Promise<ListResult> {
    const token = opts.continue ? parseContinue(opts.continue) : undefined;
    const prefix = this.keyPrefix(r, opts.namespace);
    // A token names where to go on within this list's prefix, as kube's: an absolute key would let
    // a forged token read any other namespace or kind past the authorizer, which judged the URL.
    let start = prefix + (token?.start ?? '');
    let revision = token?.rv ?? opts.revision ?? '0';
    const items: KubeObject[] = [];
    const want = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    for (;;) {
      const res = await this.etcd.run((c) => c.range({
        key: Buffer.from(start), range_end: prefixRangeEnd(Buffer.from(prefix)), revision,
        limit: Math.min(STORE_PAGE, want - items.length),
      })).catch((err: ServiceError) => outOfRange(err, revision, token !== undefined));
      if (revision === '0') revision = res.header!.revision;
      for (const kv of res.kvs) {
        const obj = decode(kv);
        if (!opts.match || opts.match(obj)) items.push(obj);
      }
      const last = res.kvs[res.kvs.length - 1];
      if (!res.more || last === undefined) return { items, resourceVersion: revision };
      start = Buffer.concat([last.key, Buffer.from([0])]).toString();
      if (items.length >= want) {
        const next: ContinueToken = { rv: revision, start: start.slice(prefix.length) };
        return { items, resourceVersion: revision, continue: Buffer.from(JSON.stringify(next)).toString('base64url') };
      }
    }
  }

  /**
   * Stores a new object; 409 AlreadyExists if its key holds one (txn on mod_revision == 0). With
   * `ttlSeconds` the key is put under a store lease, so the object disappears by itself (events).
   */
  async create(r: ResourceInfo, obj: KubeObject, ttlSeconds?: number): Promise<KubeObject> {
    const meta = obj.metadata;
    initialiseMeta(obj);
    const key = Buffer.from(this.key(r, meta.namespace, meta.name));
    const lease = ttlSeconds === undefined ? '0' : await this.leases.lease(ttlSeconds);
    const res = await this.etcd.run((c) => c.txn({
      compare: [{ key, target: 'MOD', result: 'EQUAL', mod_revision: '0' }],
      success: [{ request_put: { key, value: encode(obj), lease } }],
    }));
    if (!res.succeeded) throw alreadyExists(r.name, meta.name);
    meta.resourceVersion = res.header!.revision;
    return obj;
  }

  /**
   * kube-apiserver's GuaranteedUpdate: reads the object, lets `update` produce the new one and
   * writes it guarded by the revision read, retrying on a lost race for as long as it takes (a
   * PATCH names no resourceVersion and must not fail for another writer's sake). A
   * `resourceVersion` in the new object that is not the one read is the client's stale view: 409
   * Conflict. An update that changes nothing, compared as values, writes nothing (the
   * resourceVersion stays). Fields only the server sets keep
   * their stored values unless `byServer` (the server's own change, a graceful deletion say).
   */
  async update(
    r: ResourceInfo, namespace: string | undefined, name: string,
    update: (current: KubeObject) => KubeObject | Promise<KubeObject>, byServer = false,
  ): Promise<KubeObject> {
    const key = Buffer.from(this.key(r, namespace, name));
    for (;;) {
      const current = await this.get(r, namespace, name);
      const rv = current.metadata.resourceVersion as string;
      const next = await update(structuredClone(current));
      const asked = next.metadata?.resourceVersion;
      if (asked !== undefined && asked !== '' && asked !== rv) throw conflict(r.name, name);
      next.metadata ??= {};
      if (!byServer) carryServerMeta(current, next);
      // A no-op update, from a Go client whose fields come in another order say, writes nothing
      // and notifies no watcher.
      if (sameJson(withoutVersion(next), withoutVersion(current))) return current;
      const value = encode(next);
      const res = await this.etcd.run((c) => c.txn({
        compare: [{ key, target: 'MOD', result: 'EQUAL', mod_revision: rv }],
        // An object being deleted goes once its last finalizer is removed. ignore_lease: an update
        // keeps the key's lease, so an event updated stays as mortal as it was.
        success: [deletionFinished(next) ? { request_delete_range: { key } } : { request_put: { key, value, ignore_lease: true } }],
      }));
      if (res.succeeded) {
        next.metadata.resourceVersion = res.header!.revision;
        return next;
      }
    }
  }

  /**
   * Deletes the object if `precondition` accepts the current one, guarded by the revision read;
   * returns it as it was. A lost race reads again. Every key under `alsoPrefixes` goes in the same
   * txn (a namespace's contents with it), so nothing is left behind half-deleted.
   */
  async delete(
    r: ResourceInfo, namespace: string | undefined, name: string,
    precondition: (current: KubeObject) => void = () => {}, alsoPrefixes: string[] = [],
  ): Promise<KubeObject> {
    const key = Buffer.from(this.key(r, namespace, name));
    for (;;) {
      const current = await this.get(r, namespace, name);
      precondition(current);
      if (current.metadata.finalizers?.length) {
        // Finalizers hold the object: it is only marked, and goes when the last one is removed.
        const marked = await this.update(r, namespace, name, (obj) => {
          if (obj.metadata.resourceVersion !== current.metadata.resourceVersion) return obj; // changed meanwhile: look again
          obj.metadata.deletionTimestamp ??= timestamp();
          obj.metadata.deletionGracePeriodSeconds = 0;
          return obj;
        }, true);
        if (marked.metadata.deletionTimestamp) return marked;
        continue;
      }
      const res = await this.etcd.run((c) => c.txn({
        compare: [{ key, target: 'MOD', result: 'EQUAL', mod_revision: current.metadata.resourceVersion }],
        success: [{ request_delete_range: { key } }, ...alsoPrefixes.map((p) => ({
          request_delete_range: { key: Buffer.from(p), range_end: prefixRangeEnd(Buffer.from(p)) },
        }))],
      }));
      if (res.succeeded) return current;
    }
  }
}

/** Kubernetes' rule: marked for deletion, no grace period left and no finalizers: the object goes. */
function deletionFinished(obj: KubeObject): boolean {
  const m = obj.metadata;
  return Boolean(m.deletionTimestamp) && m.deletionGracePeriodSeconds === 0 && !m.finalizers?.length;
}

/** The stored JSON with resourceVersion filled in from the key's revision. */
export function decode(kv: KeyValue__Output, revision = kv.mod_revision): KubeObject {
  const obj = JSON.parse(Buffer.from(kv.value).toString()) as KubeObject;
  obj.metadata.resourceVersion = revision;
  return obj;
}

/** resourceVersion is the key's revision, so it is never part of the value. */
function encode(obj: KubeObject): Buffer {
  return Buffer.from(JSON.stringify(withoutVersion(obj)));
}

function withoutVersion(obj: KubeObject): KubeObject {
  const { resourceVersion: _, ...meta } = obj.metadata;
  return { ...obj, metadata: meta };
}

function parseContinue(text: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(text, 'base64url').toString()) as ContinueToken;
    if (typeof t.rv === 'string' && typeof t.start === 'string') return t;
  } catch {
    // falls through to the 400 below
  }
  throw badRequest('continue key is not valid');
}

/**
 * A read at a revision the store no longer has (compacted) must start over: 410, as kube says; one
 * at a revision it does not have yet is kube's "Too large resource version".
 */
function outOfRange(err: ServiceError, revision: string, paging: boolean): never {
  if (err.code === grpcStatus.OUT_OF_RANGE && /compacted/.test(err.details)) {
    throw expired(paging
      ? 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.'
      : `too old resource version: ${revision}`);
  }
  if (err.code === grpcStatus.OUT_OF_RANGE && /future/.test(err.details)) {
    throw new ApiError(504, 'Timeout', `Too large resource version: ${revision}`);
  }
  throw err;
}
