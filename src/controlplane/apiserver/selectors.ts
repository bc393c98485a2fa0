import type { KubeObject } from '../kube-object';
import { badRequest } from './status-error';

/** A parsed selector: true when an object matches. */
export type Selector = (obj: KubeObject) => boolean;


/** Splits on commas outside parentheses: `a in (x,y),b` is two requirements. */
function requirements(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((s) => s.trim()).filter((s) => s !== '');
}

/**
 * A label selector as `kubectl -l` writes it: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`,
 * `k` (exists), `!k` (does not exist), joined by commas (all must hold).
 */
export function parseLabelSelector(text: string | undefined): Selector {
  if (text === undefined || text.trim() === '') return () => true;
  const tests = requirements(text).map((req): ((labels: Record<string, string>) => boolean) => {
    let m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(req);
    if (m) {
      const [, key, op, value] = m as unknown as [string, string, string, string];
      return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
    }
    m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(req);
    if (m) {
      const [, key, op, list] = m as unknown as [string, string, string, string];
      const values = new Set(list.split(',').map((s) => s.trim()));
      return op === 'in' ? (l) => l[key] !== undefined && values.has(l[key]) : (l) => l[key] === undefined || !values.has(l[key]);
    }
    m = /^(!?)([\w./-]+)$/.exec(req);
    if (m) {
      const [, not, key] = m as unknown as [string, string, string];
      return not === '!' ? (l) => l[key] === undefined : (l) => l[key] !== undefined;
    }
    throw badRequest(`unable to parse requirement: ${JSON.stringify(req)}`);
  });
  return (obj) => {
    const labels = (obj.metadata?.labels ?? {}) as Record<string, string>;
    return tests.every((t) => t(labels));
  };
}

/** The fields every kind can be selected by, plus those of each kind (as the real apiserver allows). */
const FIELDS_BY_KIND: Record<string, string[]> = {
  Pod: ['spec.nodeName', 'spec.schedulerName', 'spec.serviceAccountName', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  Node: ['spec.unschedulable'],
  Event: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion',
    'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
  Namespace: ['status.phase'],
  ReplicaSet: ['status.replicas'],
};

function fieldValue(obj: KubeObject, path: string): string {
  let v: unknown = obj;
  for (const part of path.split('.')) v = v === undefined || v === null ? undefined : (v as Record<string, unknown>)[part];
  // An absent field compares as "", so `spec.nodeName=` selects unscheduled pods.
  return v === undefined || v === null ? '' : String(v);
}

/**
 * A field selector (`metadata.name=x,status.phase!=Failed`): `=`, `==` and `!=` on the fields
 * `kind` supports; any other field is a 400, as kubectl's callers expect.
 */
export function parseFieldSelector(text: string | undefined, kind: string): Selector {
  if (text === undefined || text.trim() === '') return () => true;
  const allowed = new Set(['metadata.name', 'metadata.namespace', ...(FIELDS_BY_KIND[kind] ?? [])]);
  const tests = requirements(text).map((req) => {
    const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(req);
    if (!m) throw badRequest(`invalid field selector: ${JSON.stringify(req)}`);
    const [, field, op, value] = m as unknown as [string, string, string, string];
    if (!allowed.has(field)) throw badRequest(`field label not supported: ${field}`);
    return op === '!=' ? (o: KubeObject) => fieldValue(o, field) !== value : (o: KubeObject) => fieldValue(o, field) === value;
  });
  return (obj) => tests.every((t) => t(obj));
}
