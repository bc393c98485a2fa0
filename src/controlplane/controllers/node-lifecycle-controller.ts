import type { Logger } from '../../util/logger';
import { apiPath, NODES, PODS } from '../kube-client/api-path';
import { recordEvent } from '../kube-client/events';
import { isNotFound } from '../kube-client/kube-api-error';
import type { KubeClient } from '../kube-client/kube-client';
import type { Informer } from '../kube-client/informer';
import type { KubeObject } from '../kube-object';
import { type Taint, tolerationFor } from '../tolerations';
import { isTerminating, timestamp } from './owner';

const UNREACHABLE = 'node.kubernetes.io/unreachable';
const NOT_READY = 'node.kubernetes.io/not-ready';
/** The taints this controller sets, which pods tolerate for DefaultTolerationSeconds unless they say otherwise. */
const HEALTH_TAINTS = [UNREACHABLE, NOT_READY];
const CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

export interface NodeLifecycleOptions {
  /** How often nodes are checked (--node-monitor-period, 5 s). */
  monitorPeriodMs: number;
  /** How long a node may go without a heartbeat before it is Unknown (--node-monitor-grace-period, 50 s). */
  gracePeriodMs: number;
  /** How long a pod stays on an unreachable or not-ready node unless it says otherwise (DefaultTolerationSeconds, 300). */
  defaultTolerationSeconds: number;
}

/**
 * The node lifecycle and taint-eviction controllers. A node whose Lease and Ready heartbeat have
 * not moved for the grace period (measured on this process's clock from when it saw them move) gets
 * its conditions set Unknown ("Kubelet stopped posting node status.") and the unreachable taints,
 * and its pods are marked not Ready (MarkPodsNotReady: Services stop sending them traffic); a node
 * reporting Ready=False gets the not-ready taints; both go when it is Ready again. Pods on a node
 * with a NoExecute taint are deleted at once unless they tolerate it, then once their toleration
 * runs out.
 * The disruption guard of Kubernetes (no evictions while every node is down) is kept.
 */
export class NodeLifecycleController {
  /** Per node: the last heartbeat seen (lease renewTime + Ready lastHeartbeatTime) and when it was seen. */
  private readonly probes = new Map<string, { beat: string; seenAt: number }>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly client: KubeClient,
    private readonly nodes: Informer,
    private readonly leases: Informer,
    private readonly pods: Informer,
    private readonly o: NodeLifecycleOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.monitor(), this.o.monitorPeriodMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async monitor(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const now = Date.now();
      const nodes = this.nodes.list();
      for (const node of nodes) await this.checkHealth(node, now).catch((err) => this.log.warn('node health check failed', { node: node.metadata.name, error: (err as Error).message }));
      // Kubernetes' master-disruption guard: with no node Ready, the trouble is likely ours, not theirs.
      const anyReady = this.nodes.list().some((n) => readyStatus(n) === 'True');
      if (anyReady) await this.evict(now);
    } finally {
      this.running = false;
    }
  }

  private async checkHealth(node: KubeObject, now: number): Promise<void> {
    const name: string = node.metadata.name;
    const lease = this.leases.get(`kube-node-lease/${name}`);
    const ready = (node.status?.conditions ?? []).find((c: KubeObject) => c.type === 'Ready');
    const beat = `${lease?.spec?.renewTime ?? ''}|${ready?.lastHeartbeatTime ?? ''}`;
    const probe = this.probes.get(name);
    if (probe === undefined || probe.beat !== beat) this.probes.set(name, { beat, seenAt: now });
    const seenAt = this.probes.get(name)!.seenAt;
    const status = readyStatus(node);
    if (now - seenAt > this.o.gracePeriodMs && status !== 'Unknown') {
      const at = timestamp();
      const conditions = CONDITIONS.map((type) => ({
        type, status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastHeartbeatTime: ready?.lastHeartbeatTime ?? at, lastTransitionTime: at,
      }));
      await this.client.patch(apiPath(NODES, { name, subresource: 'status' }), { status: { conditions } }, 'strategic');
      this.log.warn('node stopped posting status; marking it Unknown', { node: name, 'silent-ms': now - seenAt });
      await recordEvent(this.client, 'node-controller', { ...node, kind: 'Node', apiVersion: 'v1', metadata: { ...node.metadata, namespace: 'default' } }, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
      await this.markPodsNotReady(name, at);
      return this.setTaints(node, UNREACHABLE);
    }
    if (status === 'Unknown') return this.setTaints(node, UNREACHABLE);
    if (status === 'False') return this.setTaints(node, NOT_READY);
    return this.setTaints(node, undefined);
  }

  /** Kubernetes' MarkPodsNotReady: nobody reports for the pods of a silent node, so they are not Ready. */
  private async markPodsNotReady(nodeName: string, at: string): Promise<void> {
    for (const pod of this.pods.list()) {
      if (pod.spec?.nodeName !== nodeName || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
      const ready = (pod.status?.conditions ?? []).find((c: KubeObject) => c.type === 'Ready');
      if (ready?.status === 'False') continue;
      const conditions = [{ type: 'Ready', status: 'False', lastTransitionTime: at }];
      await this.client.patch(apiPath(PODS, { namespace: pod.metadata.namespace, name: pod.metadata.name, subresource: 'status' }), { status: { conditions } }, 'strategic')
        .catch((err) => {
          if (!isNotFound(err)) throw err;
        });
      this.log.info('marked pod not ready on a silent node', { pod: `${pod.metadata.namespace}/${pod.metadata.name}`, node: nodeName });
    }
  }

  /** Leaves the node with the NoSchedule and NoExecute taints of `key` (or none of ours), others untouched. */
  private async setTaints(node: KubeObject, key: string | undefined): Promise<void> {
    const taints: KubeObject[] = node.spec?.taints ?? [];
    const others = taints.filter((t) => t.key !== UNREACHABLE && t.key !== NOT_READY);
    const ours = key === undefined ? [] : ['NoSchedule', 'NoExecute'].map((effect) => taints.find((t) => t.key === key && t.effect === effect) ?? { key, effect, timeAdded: timestamp() });
    const next = [...others, ...ours];
    if (JSON.stringify(next) === JSON.stringify(taints)) return;
    await this.client.patch(apiPath(NODES, { name: node.metadata.name }), { spec: { taints: next } });
    this.log.info(key === undefined ? 'removed node health taints' : 'tainted node', { node: node.metadata.name, ...(key ? { taint: key } : {}) });
  }

  /** Deletes pods whose node has a NoExecute taint, once their toleration of it (if any) is over. */
  private async evict(now: number): Promise<void> {
    const nodes = new Map(this.nodes.list().map((n) => [n.metadata.name as string, n]));
    for (const pod of this.pods.list()) {
      const node = nodes.get(pod.spec?.nodeName);
      if (node === undefined || isTerminating(pod)) continue;
      for (const taint of (node.spec?.taints ?? []) as Taint[]) {
        if (taint.effect !== 'NoExecute') continue;
        const seconds = tolerationSeconds(pod, taint, this.o.defaultTolerationSeconds);
        if (seconds === Infinity || now < (taint.timeAdded === undefined ? 0 : Date.parse(taint.timeAdded)) + seconds * 1000) continue;
        await this.client.delete(apiPath(PODS, { namespace: pod.metadata.namespace, name: pod.metadata.name })).catch((err) => {
          if (!isNotFound(err)) throw err;
        });
        this.log.info('evicted pod from a node with a NoExecute taint', { pod: `${pod.metadata.namespace}/${pod.metadata.name}`, node: node.metadata.name, taint: taint.key });
        await recordEvent(this.client, 'taint-eviction-controller', { ...pod, kind: 'Pod', apiVersion: 'v1' }, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${pod.metadata.namespace}/${pod.metadata.name}`);
        break;
      }
    }
  }
}

function readyStatus(node: KubeObject): string {
  return (node.status?.conditions ?? []).find((c: KubeObject) => c.type === 'Ready')?.status ?? 'Unknown';
}

/**
 * How long `pod` may stay on a node with the NoExecute `taint`: for good with a toleration without
 * tolerationSeconds, its seconds with one; without a toleration not at all, but for the health
 * taints, which pods tolerate for the DefaultTolerationSeconds an admission plugin would have given them.
 */
export function tolerationSeconds(pod: KubeObject, taint: Taint, defaultSeconds: number): number {
  const t = tolerationFor(pod.spec?.tolerations ?? [], taint);
  if (t === undefined) return HEALTH_TAINTS.includes(taint.key) ? defaultSeconds : 0;
  return t.tolerationSeconds === undefined ? Infinity : Number(t.tolerationSeconds);
}
