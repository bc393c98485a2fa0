import type { KubeObject } from '../kube-object';
import { parseQuantity, podRequests } from '../quantity';
import { type Taint, type Toleration, tolerationFor } from '../tolerations';

/** What the pods already bound to a node request of it. */
export interface NodeUsage {
  cpu: number;
  memory: number;
  pods: number;
}

export function tolerates(tolerations: Toleration[], taint: Taint): boolean {
  return tolerationFor(tolerations, taint) !== undefined;
}

function isReady(node: KubeObject): boolean {
  return (node.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
}

function allocatable(node: KubeObject, resource: string, otherwise: number): number {
  const v = node.status?.allocatable?.[resource];
  return v === undefined ? otherwise : parseQuantity(v);
}

/**
 * Why `pod` cannot go to `node`, in the words of the scheduler's FailedScheduling message
 * ("node(s) were unschedulable", "Insufficient cpu"…), or undefined when it fits: the Ready
 * condition (this scheduler checks it itself), NodeUnschedulable, node selector, TaintToleration
 * (NoSchedule and NoExecute) and NodeResourcesFit (cpu, memory, pod count).
 */
export function whyNotFit(pod: KubeObject, node: KubeObject, usage: NodeUsage): string | undefined {
  const tolerations: Toleration[] = pod.spec?.tolerations ?? [];
  if (!isReady(node)) return 'node(s) were not ready';
  if (node.spec?.unschedulable && !tolerates(tolerations, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })) {
    return 'node(s) were unschedulable';
  }
  const labels: Record<string, string> = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries((pod.spec?.nodeSelector ?? {}) as Record<string, string>)) {
    if (labels[k] !== v) return "node(s) didn't match Pod's node affinity/selector";
  }
  for (const taint of (node.spec?.taints ?? []) as Taint[]) {
    if ((taint.effect === 'NoSchedule' || taint.effect === 'NoExecute') && !tolerates(tolerations, taint)) {
      return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;
    }
  }
  const wants = podRequests(pod);
  if (usage.pods + 1 > allocatable(node, 'pods', 110)) return 'Too many pods';
  if (wants.cpu > 0 && usage.cpu + wants.cpu > allocatable(node, 'cpu', Infinity)) return 'Insufficient cpu';
  if (wants.memory > 0 && usage.memory + wants.memory > allocatable(node, 'memory', Infinity)) return 'Insufficient memory';
  return undefined;
}

/**
 * LeastAllocated with the pod count first: the node with the fewest pods, then the lowest share of
 * its cpu and memory requested once this pod is on it; higher is better. Spreads a ReplicaSet's
 * pods over its nodes.
 */
export function score(pod: KubeObject, node: KubeObject, usage: NodeUsage): number {
  const wants = podRequests(pod);
  const share = (used: number, cap: number) => (Number.isFinite(cap) && cap > 0 ? used / cap : 0);
  const cpu = share(usage.cpu + wants.cpu, allocatable(node, 'cpu', Infinity));
  const memory = share(usage.memory + wants.memory, allocatable(node, 'memory', Infinity));
  return -usage.pods * 10 - (cpu + memory) / 2;
}

/** The FailedScheduling message: `0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu.` */
export function unschedulableMessage(nodes: number, reasons: string[]): string {
  const counts = new Map<string, number>();
  for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  const parts = [...counts].map(([r, n]) => `${n} ${r}`).sort();
  return `0/${nodes} nodes are available${parts.length > 0 ? `: ${parts.join(', ')}` : ''}.`;
}
