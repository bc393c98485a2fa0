import type { ResourceInfo } from './resources';
import type { KubeObject } from '../kube-object';
import { sameJson } from './same-json';
import { invalid, type StatusCause } from './status-error';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Kinds whose names are DNS-1123 labels (they become DNS names or path segments); the rest are subdomains. */
const LABEL_NAMED = new Set(['Namespace', 'Service']);

function required(field: string): StatusCause {
  return { reason: 'FieldValueRequired', message: 'Required value', field };
}

function bad(field: string, value: unknown, why: string): StatusCause {
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${why}`, field };
}

function checkName(kind: string, name: string, field: string): StatusCause[] {
  const label = LABEL_NAMED.has(kind);
  const max = label ? 63 : 253;
  if (name.length > max) return [bad(field, name, `must be no more than ${max} characters`)];
  if (!(label ? DNS1123_LABEL : DNS1123_SUBDOMAIN).test(name)) {
    return [bad(field, name, `a lowercase RFC 1123 ${label ? 'label' : 'subdomain'} must consist of lower case alphanumeric characters, '-'${label ? '' : " or '.'"}, and must start and end with an alphanumeric character`)];
  }
  return [];
}

/** What each kind cannot do without (apart from its name). */
function kindCauses(obj: KubeObject): StatusCause[] {
  const spec = obj.spec ?? {};
  switch (obj.kind) {
    case 'Pod': return podSpecCauses(spec, 'spec');
    case 'Deployment':
    case 'ReplicaSet': {
      const causes: StatusCause[] = [];
      if (spec.selector === undefined) causes.push(required('spec.selector'));
      causes.push(...podSpecCauses(spec.template?.spec ?? {}, 'spec.template.spec'));
      if (spec.replicas !== undefined && !(Number.isInteger(spec.replicas) && spec.replicas >= 0)) {
        causes.push(bad('spec.replicas', spec.replicas, 'must be greater than or equal to 0'));
      }
      const labels = spec.template?.metadata?.labels ?? {};
      const wanted = spec.selector?.matchLabels ?? {};
      if (Object.entries(wanted).some(([k, v]) => labels[k] !== v)) {
        causes.push(bad('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'));
      }
      return causes;
    }
    case 'Lease':
      return spec.leaseDurationSeconds !== undefined && !(spec.leaseDurationSeconds > 0)
        ? [bad('spec.leaseDurationSeconds', spec.leaseDurationSeconds, 'must be greater than 0')] : [];
    default: return [];
  }
}

function podSpecCauses(spec: KubeObject, at: string): StatusCause[] {
  const containers = spec.containers;
  if (!Array.isArray(containers) || containers.length === 0) return [required(`${at}.containers`)];
  return containers.flatMap((c: KubeObject, i: number) => [
    ...(c.name ? checkName('Container', c.name, `${at}.containers[${i}].name`) : [required(`${at}.containers[${i}].name`)]),
    ...(c.image ? [] : [required(`${at}.containers[${i}].image`)]),
  ]);
}

/** 422 Invalid with every failing field, or nothing. */
export function validate(r: ResourceInfo, obj: KubeObject): void {
  const name = obj.metadata?.name ?? '';
  const causes: StatusCause[] = name === ''
    ? [{ reason: 'FieldValueRequired', message: 'name or generateName is required', field: 'metadata.name' }]
    : checkName(r.kind, name, 'metadata.name');
  if (r.namespaced && obj.metadata?.namespace) causes.push(...checkName('Namespace', obj.metadata.namespace, 'metadata.namespace'));
  causes.push(...kindCauses(obj));
  if (causes.length > 0) throw invalid(r.kind, name, causes);
}

/** Fields that cannot change once created: a 422 naming the first one changed. */
export function validateImmutable(r: ResourceInfo, current: KubeObject, next: KubeObject): void {
  const immutable: Array<[string, unknown, unknown, string?]> = [];
  if (r.kind === 'Pod') {
    immutable.push(['spec.containers[*].name', current.spec?.containers?.map((c: KubeObject) => c.name), next.spec?.containers?.map((c: KubeObject) => c.name)]);
    if (current.spec?.nodeName) immutable.push(['spec.nodeName', current.spec.nodeName, next.spec?.nodeName]);
  }
  if (r.kind === 'Deployment' || r.kind === 'ReplicaSet') immutable.push(['spec.selector', current.spec?.selector, next.spec?.selector]);
  const changed = immutable.filter(([, a, b]) => !sameJson(a, b));
  const held = new Set<string>(current.metadata.finalizers ?? []);
  if (current.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).some((f: string) => !held.has(f))) {
    changed.push(['metadata.finalizers', held, next.metadata.finalizers, 'no new finalizers can be added if the object is being deleted']);
  }
  if (changed.length > 0) {
    throw invalid(r.kind, current.metadata.name, changed.map(([field, , , why]) => ({
      reason: 'FieldValueForbidden', message: `Forbidden: ${why ?? 'field is immutable'}`, field,
    })));
  }
}

/** The real apiserver's defaults a user would notice being absent. */
export function applyDefaults(obj: KubeObject): void {
  const podSpec = (spec: KubeObject | undefined) => {
    if (spec === undefined) return;
    spec.restartPolicy ??= 'Always';
    spec.dnsPolicy ??= 'ClusterFirst';
    spec.schedulerName ??= 'default-scheduler';
    spec.terminationGracePeriodSeconds ??= 30;
    for (const c of spec.containers ?? []) {
      c.imagePullPolicy ??= c.image?.endsWith(':latest') || !c.image?.includes(':') ? 'Always' : 'IfNotPresent';
      c.terminationMessagePath ??= '/dev/termination-log';
    }
  };
  switch (obj.kind) {
    case 'Pod':
      podSpec(obj.spec);
      obj.status ??= {};
      obj.status.phase ??= 'Pending';
      break;
    case 'Deployment':
      obj.spec.replicas ??= 1;
      obj.spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } };
      obj.spec.revisionHistoryLimit ??= 10;
      podSpec(obj.spec.template?.spec);
      break;
    case 'ReplicaSet':
      obj.spec.replicas ??= 1;
      podSpec(obj.spec.template?.spec);
      break;
    case 'Namespace':
      obj.spec ??= { finalizers: ['kubernetes'] };
      obj.status ??= { phase: 'Active' };
      break;
    case 'Service':
      obj.spec ??= {};
      obj.spec.type ??= 'ClusterIP';
      obj.spec.sessionAffinity ??= 'None';
      for (const p of obj.spec.ports ?? []) {
        p.protocol ??= 'TCP';
        p.targetPort ??= p.port;
      }
      break;
    default:
      break;
  }
}
