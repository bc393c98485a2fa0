import { age } from './human-duration';
import type { ResourceInfo } from './resources';
import type { KubeObject } from '../kube-object';

interface Column {
  name: string;
  /** 0: always shown; 1: only with `kubectl get -o wide`. */
  priority: 0 | 1;
  cell(obj: KubeObject): string | number;
}

const col = (name: string, cell: Column['cell'], priority: 0 | 1 = 0): Column => ({ name, priority, cell });
const none = (v: unknown): string => (v === undefined || v === null || v === '' ? '<none>' : String(v));
const nameCol = col('Name', (o) => o.metadata.name);
const ageCol = col('Age', (o) => age(o.metadata.creationTimestamp));

function selectorText(sel: KubeObject | undefined): string {
  const labels = Object.entries(sel?.matchLabels ?? sel ?? {}).map(([k, v]) => `${k}=${v}`);
  return none(labels.join(','));
}

function podStatus(pod: KubeObject): string {
  if (pod.metadata.deletionTimestamp) return 'Terminating';
  const waiting = (pod.status?.containerStatuses ?? []).find((c: KubeObject) => c.state?.waiting?.reason)?.state.waiting.reason;
  return waiting ?? pod.status?.reason ?? pod.status?.phase ?? 'Pending';
}

function nodeStatus(node: KubeObject): string {
  const ready = (node.status?.conditions ?? []).find((c: KubeObject) => c.type === 'Ready');
  const parts = [ready?.status === 'True' ? 'Ready' : ready ? 'NotReady' : 'Unknown'];
  if (node.spec?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

function nodeRoles(node: KubeObject): string {
  const roles = Object.keys(node.metadata.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.slice('node-role.kubernetes.io/'.length));
  return none(roles.sort().join(','));
}

const address = (type: string) => (node: KubeObject) => none((node.status?.addresses ?? []).find((a: KubeObject) => a.type === type)?.address);

function containersOf(template: KubeObject | undefined): KubeObject[] {
  return template?.spec?.containers ?? [];
}

function servicePorts(svc: KubeObject): string {
  return none((svc.spec?.ports ?? []).map((p: KubeObject) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(','));
}

function endpointsText(ep: KubeObject): string {
  const all = (ep.subsets ?? []).flatMap((s: KubeObject) => (s.addresses ?? []).flatMap((a: KubeObject) =>
    (s.ports ?? [{}]).map((p: KubeObject) => (p.port ? `${a.ip}:${p.port}` : a.ip))));
  return none(all.length > 3 ? `${all.slice(0, 3).join(',')} + ${all.length - 3} more...` : all.join(','));
}

/** The columns the real apiserver's printers give each kind (pkg/printers/internalversion). */
const COLUMNS: Record<string, Column[]> = {
  Pod: [nameCol,
    col('Ready', (p) => `${(p.status?.containerStatuses ?? []).filter((c: KubeObject) => c.ready).length}/${(p.spec?.containers ?? []).length}`),
    col('Status', podStatus),
    col('Restarts', (p) => (p.status?.containerStatuses ?? []).reduce((n: number, c: KubeObject) => n + (c.restartCount ?? 0), 0)),
    ageCol,
    col('IP', (p) => none(p.status?.podIP), 1), col('Node', (p) => none(p.spec?.nodeName), 1),
    col('Nominated Node', (p) => none(p.status?.nominatedNodeName), 1), col('Readiness Gates', () => '<none>', 1)],
  Node: [nameCol, col('Status', nodeStatus), col('Roles', nodeRoles), ageCol, col('Version', (n) => n.status?.nodeInfo?.kubeletVersion ?? ''),
    col('Internal-IP', address('InternalIP'), 1), col('External-IP', address('ExternalIP'), 1),
    col('OS-Image', (n) => none(n.status?.nodeInfo?.osImage), 1), col('Kernel-Version', (n) => none(n.status?.nodeInfo?.kernelVersion), 1),
    col('Container-Runtime', (n) => none(n.status?.nodeInfo?.containerRuntimeVersion), 1)],
  Namespace: [nameCol, col('Status', (n) => n.status?.phase ?? 'Active'), ageCol],
  Service: [nameCol, col('Type', (s) => s.spec?.type ?? 'ClusterIP'), col('Cluster-IP', (s) => none(s.spec?.clusterIP)),
    col('External-IP', (s) => none((s.spec?.externalIPs ?? []).join(','))), col('Port(s)', servicePorts), ageCol,
    col('Selector', (s) => selectorText(s.spec?.selector), 1)],
  Endpoints: [nameCol, col('Endpoints', endpointsText), ageCol],
  Event: [col('Last Seen', (e) => age(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp)), col('Type', (e) => e.type ?? ''),
    col('Reason', (e) => e.reason ?? ''), col('Object', (e) => `${(e.involvedObject?.kind ?? '').toLowerCase()}/${e.involvedObject?.name ?? ''}`),
    col('Message', (e) => e.message ?? '')],
  Lease: [nameCol, col('Holder', (l) => l.spec?.holderIdentity ?? ''), ageCol],
  ReplicaSet: [nameCol, col('Desired', (r) => r.spec?.replicas ?? 0), col('Current', (r) => r.status?.replicas ?? 0),
    col('Ready', (r) => r.status?.readyReplicas ?? 0), ageCol,
    col('Containers', (r) => containersOf(r.spec?.template).map((c) => c.name).join(','), 1),
    col('Images', (r) => containersOf(r.spec?.template).map((c) => c.image).join(','), 1),
    col('Selector', (r) => selectorText(r.spec?.selector), 1)],
  Deployment: [nameCol, col('Ready', (d) => `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}`),
    col('Up-to-date', (d) => d.status?.updatedReplicas ?? 0), col('Available', (d) => d.status?.availableReplicas ?? 0), ageCol,
    col('Containers', (d) => containersOf(d.spec?.template).map((c) => c.name).join(','), 1),
    col('Images', (d) => containersOf(d.spec?.template).map((c) => c.image).join(','), 1),
    col('Selector', (d) => selectorText(d.spec?.selector), 1)],
};

/** Whether `accept` asks for a server-side Table (kubectl get does). */
export function wantsTable(accept: string | undefined): boolean {
  return accept !== undefined && /as=Table/.test(accept);
}

/** A meta.k8s.io/v1 Table of `objects`, each row carrying the object's metadata (or the whole object). */
export function table(r: ResourceInfo, objects: KubeObject[], listMeta: KubeObject, includeObject: string | undefined, withColumns = true): KubeObject {
  const columns = COLUMNS[r.kind] ?? [nameCol, ageCol];
  return {
    kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: listMeta,
    ...(withColumns ? {
      columnDefinitions: columns.map((c) => ({
        name: c.name, type: 'string', format: c === nameCol ? 'name' : '', description: c.name, priority: c.priority,
      })),
    } : {}),
    rows: objects.map((o) => ({
      cells: columns.map((c) => c.cell(o)),
      object: includeObject === 'Object' ? o
        : includeObject === 'None' ? null
          : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}
