import { randomBytes } from 'node:crypto';
import type { Logger } from '../../util/logger';
import { apiPath, PODS, REPLICA_SETS } from '../kube-client/api-path';
import { isConflict, isNotFound } from '../kube-client/kube-api-error';
import type { KubeClient } from '../kube-client/kube-client';
import type { Informer } from '../kube-client/informer';
import type { KubeObject } from '../kube-object';
import { selects } from './label-selector';
import { controllerRef, controllerUid, isActivePod, isPodReady } from './owner';

/** Pods a ReplicaSet created or deleted that its pod informer has not shown yet; kept at most this long. */
const EXPECTATION_TTL_MS = 10_000;
const POD_NAME_LETTERS = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * Keeps each ReplicaSet at `spec.replicas` pods: creates pods from its template (named
 * `<rs>-<5 letters>`, owned by it), deletes the surplus (unscheduled, then not ready, then the
 * newest first), adopts orphans its selector matches, and reports replicas, readyReplicas and
 * availableReplicas. Like client-go's controllers it waits for its own creations and deletions to
 * show in the informer before counting again, so a quick second sync never creates twice.
 */
export class ReplicaSetController {
  private readonly expecting = new Map<string, { pods: Set<string>; count: number; at: number }>();

  constructor(
    private readonly client: KubeClient,
    private readonly replicaSets: Informer,
    private readonly pods: Informer,
    private readonly log: Logger,
  ) {}

  /** The ReplicaSets a pod event concerns: its controller, or any whose selector matches an orphan. */
  replicaSetsOfPod(pod: KubeObject): string[] {
    const owner = controllerUid(pod);
    const rss = this.replicaSets.list().filter((rs) => rs.metadata.namespace === pod.metadata.namespace);
    return rss.filter((rs) => (owner !== undefined ? rs.metadata.uid === owner : selects(rs.spec?.selector, pod.metadata.labels)))
      .map((rs) => `${rs.metadata.namespace}/${rs.metadata.name}`);
  }

  /** A pod of this ReplicaSet appeared (`created`) or is going away in the informer. */
  observed(rsKey: string, podName: string, created: boolean): void {
    const e = this.expecting.get(rsKey);
    if (e === undefined) return;
    if (created && e.count > 0) e.count--;
    else if (!created) e.pods.delete(podName);
  }

  async sync(key: string): Promise<void> {
    const rs = this.replicaSets.get(key);
    if (rs === undefined || rs.metadata.deletionTimestamp) return;
    const e = this.expecting.get(key);
    if (e !== undefined && (e.count > 0 || e.pods.size > 0) && Date.now() - e.at < EXPECTATION_TTL_MS) return;
    this.expecting.delete(key);
    const ns: string = rs.metadata.namespace;
    const mine: KubeObject[] = [];
    for (const pod of this.pods.list()) {
      if (pod.metadata.namespace !== ns || !isActivePod(pod)) continue;
      const owner = controllerUid(pod);
      if (owner === rs.metadata.uid) mine.push(pod);
      else if (owner === undefined && selects(rs.spec?.selector, pod.metadata.labels)) {
        await this.adopt(rs, pod);
        mine.push(pod);
      }
    }
    const want: number = rs.spec?.replicas ?? 1;
    const diff = want - mine.length;
    if (diff > 0) await this.create(key, rs, diff);
    if (diff < 0) await this.remove(key, mine, -diff);
    await this.updateStatus(rs, mine);
  }

  private async adopt(rs: KubeObject, pod: KubeObject): Promise<void> {
    const refs = [...(pod.metadata.ownerReferences ?? []), controllerRef(rs, 'ReplicaSet', 'apps/v1')];
    await this.client.patch(apiPath(PODS, { namespace: pod.metadata.namespace, name: pod.metadata.name }),
      { metadata: { ownerReferences: refs } }).catch((err) => {
      if (!isConflict(err) && !isNotFound(err)) throw err;
    });
    this.log.info('adopted pod', { replicaset: rs.metadata.name, pod: pod.metadata.name });
  }

  private async create(key: string, rs: KubeObject, n: number): Promise<void> {
    this.expecting.set(key, { pods: new Set(), count: n, at: Date.now() });
    const template: KubeObject = rs.spec?.template ?? {};
    for (let i = 0; i < n; i++) {
      const suffix = [...randomBytes(5)].map((b) => POD_NAME_LETTERS[b % POD_NAME_LETTERS.length]).join('');
      const pod = {
        apiVersion: 'v1', kind: 'Pod',
        metadata: { ...template.metadata, name: `${rs.metadata.name}-${suffix}`, namespace: rs.metadata.namespace, ownerReferences: [controllerRef(rs, 'ReplicaSet', 'apps/v1')] },
        spec: template.spec,
      };
      try {
        await this.client.create(apiPath(PODS, { namespace: rs.metadata.namespace }), pod);
      } catch (err) {
        const e = this.expecting.get(key);
        if (e !== undefined) e.count -= n - i; // these will never show up
        throw err;
      }
    }
    this.log.info('created pods', { replicaset: key, count: n });
  }

  /** Deletes the `n` pods that matter least: not yet on a node, then not ready, then the youngest. */
  private async remove(key: string, pods: KubeObject[], n: number): Promise<void> {
    const rank = (p: KubeObject) => [p.spec?.nodeName ? 1 : 0, isPodReady(p) ? 1 : 0, -Date.parse(p.metadata.creationTimestamp ?? 0)];
    const victims = [...pods].sort((a, b) => {
      const [ra, rb] = [rank(a), rank(b)];
      for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
      return 0;
    }).slice(0, n);
    this.expecting.set(key, { pods: new Set(victims.map((p) => p.metadata.name)), count: 0, at: Date.now() });
    for (const p of victims) {
      await this.client.delete(apiPath(PODS, { namespace: p.metadata.namespace, name: p.metadata.name })).catch((err) => {
        if (!isNotFound(err)) throw err;
      });
    }
    this.log.info('deleted pods', { replicaset: key, count: n });
  }

  private async updateStatus(rs: KubeObject, pods: KubeObject[]): Promise<void> {
    const ready = pods.filter(isPodReady).length;
    const labels = rs.spec?.template?.metadata?.labels ?? {};
    const status = {
      replicas: pods.length,
      fullyLabeledReplicas: pods.filter((p) => Object.entries(labels).every(([k, v]) => p.metadata.labels?.[k] === v)).length,
      readyReplicas: ready, availableReplicas: ready, observedGeneration: rs.metadata.generation ?? 1,
    };
    const current = rs.status ?? {};
    if (Object.entries(status).every(([k, v]) => (current[k] ?? 0) === v)) return;
    await this.client.patch(apiPath(REPLICA_SETS, { namespace: rs.metadata.namespace, name: rs.metadata.name, subresource: 'status' }), { status })
      .catch((err) => {
        if (!isNotFound(err)) throw err;
      });
  }
}
