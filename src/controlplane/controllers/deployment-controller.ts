import { createHash } from 'node:crypto';
import type { Logger } from '../../util/logger';
import { apiPath, DEPLOYMENTS, REPLICA_SETS } from '../kube-client/api-path';
import { isAlreadyExists, isNotFound } from '../kube-client/kube-api-error';
import type { KubeClient } from '../kube-client/kube-client';
import type { Informer } from '../kube-client/informer';
import type { KubeObject } from '../kube-object';
import { controllerRef, controllerUid, timestamp } from './owner';

const REVISION = 'deployment.kubernetes.io/revision';
const HASH_LABEL = 'pod-template-hash';

/**
 * A stable short hash of a pod template, as the `pod-template-hash` label and the ReplicaSet name
 * suffix. The same template hashes the same however it was written: `kubectl rollout undo` sends
 * an old one back with `creationTimestamp: null` and `resources: {}`, which Go reads as absent,
 * and its keys in another order; a hash of the text made a second ReplicaSet for it.
 */
export function templateHash(template: KubeObject): string {
  const h = createHash('sha256').update(JSON.stringify(canonical(template) ?? {})).digest();
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return [...h.subarray(0, 10)].map((b) => alphabet[b % alphabet.length]).join('');
}

/** `value` with object keys sorted, and nulls, empty objects and empty arrays left out (Go's zero values). */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? undefined : value.map((v) => canonical(v) ?? null);
  if (value === null || typeof value !== 'object') return value ?? undefined;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = canonical((value as Record<string, unknown>)[key]);
    if (v !== undefined) out[key] = v;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

/**
 * Whether a ReplicaSet's pod template is the Deployment's, its pod-template-hash label aside
 * (Kubernetes' EqualIgnoreHash): a rollback finds its old ReplicaSet this way whatever the hash.
 */
export function sameTemplate(replicaSetTemplate: KubeObject | undefined, template: KubeObject | undefined): boolean {
  const bare: KubeObject = structuredClone(replicaSetTemplate ?? {});
  delete bare.metadata?.labels?.[HASH_LABEL];
  return JSON.stringify(canonical(bare)) === JSON.stringify(canonical(template ?? {}));
}

/** maxSurge / maxUnavailable: a count, or a percentage of `replicas` (surge rounds up, unavailable down). */
export function resolveIntOrPercent(v: number | string | undefined, replicas: number, fallback: string, roundUp: boolean): number {
  const value = v ?? fallback;
  if (typeof value === 'number') return value;
  const m = /^(\d+)%$/.exec(value);
  if (!m) return Number(value) || 0;
  const exact = (Number(m[1]) * replicas) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/**
 * Rolls Deployments out through ReplicaSets named `<deployment>-<pod-template-hash>`: the one
 * matching the current template is scaled up while the others are scaled down, within maxSurge
 * pods above and maxUnavailable available pods below `spec.replicas` (Recreate: old ones to zero
 * first). Reports the status `kubectl rollout status` reads: observedGeneration, replicas,
 * updatedReplicas, readyReplicas, availableReplicas, and the Available and Progressing conditions.
 */
export class DeploymentController {
  constructor(
    private readonly client: KubeClient,
    private readonly deployments: Informer,
    private readonly replicaSets: Informer,
    private readonly log: Logger,
  ) {}

  deploymentOfReplicaSet(rs: KubeObject): string | undefined {
    const owner = controllerUid(rs);
    const d = this.deployments.list().find((x) => x.metadata.uid === owner);
    return d === undefined ? undefined : `${d.metadata.namespace}/${d.metadata.name}`;
  }

  async sync(key: string): Promise<void> {
    const d = this.deployments.get(key);
    if (d === undefined || d.metadata.deletionTimestamp) return;
    const ns: string = d.metadata.namespace;
    const owned = this.replicaSets.list().filter((rs) => rs.metadata.namespace === ns && controllerUid(rs) === d.metadata.uid && !rs.metadata.deletionTimestamp);
    let current = owned.find((rs) => sameTemplate(rs.spec?.template, d.spec?.template));
    const old = owned.filter((rs) => rs !== current);
    const replicas: number = d.spec?.replicas ?? 1;
    const recreate = d.spec?.strategy?.type === 'Recreate';
    const surge = recreate ? 0 : resolveIntOrPercent(d.spec?.strategy?.rollingUpdate?.maxSurge, replicas, '25%', true);
    const unavailable = recreate ? replicas : resolveIntOrPercent(d.spec?.strategy?.rollingUpdate?.maxUnavailable, replicas, '25%', false);
    const oldPods = old.reduce((n, rs) => n + (rs.status?.replicas ?? 0), 0);

    const revisionOf = (rs: KubeObject) => Number(rs.metadata.annotations?.[REVISION] ?? 0);
    const newest = Math.max(0, ...old.map(revisionOf));
    if (current === undefined) {
      // With nothing to replace it starts at full size; otherwise the rollout below grows it.
      const start = old.length === 0 ? replicas : 0;
      current = await this.createReplicaSet(d, templateHash(d.spec?.template), newest + 1, start);
    } else if (revisionOf(current) < newest) {
      // A rollback to an older ReplicaSet makes it the newest revision again, as Kubernetes does.
      await this.client.patch(apiPath(REPLICA_SETS, { namespace: ns, name: current.metadata.name }), { metadata: { annotations: { [REVISION]: String(newest + 1) } } });
    }

    if (recreate) {
      for (const rs of old) await this.scale(rs, 0);
      if (oldPods === 0) await this.scale(current, replicas);
    } else {
      const total = owned.reduce((n, rs) => n + (rs.spec?.replicas ?? 0), 0) + (owned.includes(current) ? 0 : current.spec?.replicas ?? 0);
      const currentSpec: number = current.spec?.replicas ?? 0;
      if (old.length === 0) {
        if (currentSpec !== replicas) await this.scale(current, replicas);
      } else {
        // Up: as far as maxSurge allows above the desired count.
        const room = replicas + surge - total;
        if (room > 0 && currentSpec < replicas) await this.scale(current, Math.min(replicas, currentSpec + room));
        // Down: old pods beyond what keeps `replicas - maxUnavailable` available, oldest ReplicaSets first.
        const available = owned.reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0);
        let removable = available - (replicas - unavailable);
        // Old pods that are not available can go at no cost.
        for (const rs of old) removable += Math.max(0, (rs.spec?.replicas ?? 0) - (rs.status?.availableReplicas ?? 0));
        for (const rs of [...old].sort((a, b) => Date.parse(a.metadata.creationTimestamp) - Date.parse(b.metadata.creationTimestamp))) {
          if (removable <= 0) break;
          const has: number = rs.spec?.replicas ?? 0;
          const cut = Math.min(has, removable);
          if (cut > 0) await this.scale(rs, has - cut);
          removable -= cut;
        }
      }
    }
    await this.updateStatus(d, current, owned, replicas, unavailable);
  }

  private async createReplicaSet(d: KubeObject, hash: string, revision: number, replicas: number): Promise<KubeObject> {
    const template: KubeObject = structuredClone(d.spec?.template ?? {});
    template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [HASH_LABEL]: hash } };
    const selector = { ...d.spec?.selector, matchLabels: { ...d.spec?.selector?.matchLabels, [HASH_LABEL]: hash } };
    const rs = {
      apiVersion: 'apps/v1', kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`, namespace: d.metadata.namespace, labels: template.metadata.labels,
        annotations: { [REVISION]: String(revision) }, ownerReferences: [controllerRef(d, 'Deployment', 'apps/v1')],
      },
      spec: { replicas, selector, template },
    };
    try {
      const created = await this.client.create(apiPath(REPLICA_SETS, { namespace: d.metadata.namespace }), rs);
      this.log.info('created replica set', { deployment: d.metadata.name, replicaset: rs.metadata.name, replicas });
      return created;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      return this.client.get(apiPath(REPLICA_SETS, { namespace: d.metadata.namespace, name: rs.metadata.name }));
    }
  }

  private async scale(rs: KubeObject, replicas: number): Promise<void> {
    if ((rs.spec?.replicas ?? 0) === replicas) return;
    await this.client.patch(apiPath(REPLICA_SETS, { namespace: rs.metadata.namespace, name: rs.metadata.name }), { spec: { replicas } });
    rs.spec = { ...rs.spec, replicas };
    this.log.info('scaled replica set', { replicaset: rs.metadata.name, replicas });
  }

  private async updateStatus(d: KubeObject, current: KubeObject, owned: KubeObject[], replicas: number, maxUnavailable: number): Promise<void> {
    const all = owned.includes(current) ? owned : [...owned, current];
    const sum = (f: (rs: KubeObject) => number) => all.reduce((n, rs) => n + f(rs), 0);
    const total = sum((rs) => rs.status?.replicas ?? 0);
    const available = sum((rs) => rs.status?.availableReplicas ?? 0);
    const updated: number = current.status?.replicas ?? 0;
    const complete = updated === replicas && total === replicas && available === replicas && (current.spec?.replicas ?? 0) === replicas;
    const at = timestamp();
    const previous = (type: string) => (d.status?.conditions ?? []).find((c: KubeObject) => c.type === type);
    const condition = (type: string, ok: boolean, reason: string, message: string) => {
      const before = previous(type);
      const changed = before?.status !== (ok ? 'True' : 'False') || before?.reason !== reason;
      return { type, status: ok ? 'True' : 'False', reason, message, lastUpdateTime: changed ? at : before.lastUpdateTime ?? at, lastTransitionTime: before?.status === (ok ? 'True' : 'False') ? before.lastTransitionTime ?? at : at };
    };
    const status = {
      observedGeneration: d.metadata.generation ?? 1,
      replicas: total, updatedReplicas: updated, readyReplicas: sum((rs) => rs.status?.readyReplicas ?? 0),
      availableReplicas: available, unavailableReplicas: Math.max(0, replicas - available),
      conditions: [
        available >= replicas - maxUnavailable
          ? condition('Available', true, 'MinimumReplicasAvailable', 'Deployment has minimum availability.')
          : condition('Available', false, 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'),
        complete
          ? condition('Progressing', true, 'NewReplicaSetAvailable', `ReplicaSet "${current.metadata.name}" has successfully progressed.`)
          : condition('Progressing', true, 'ReplicaSetUpdated', `ReplicaSet "${current.metadata.name}" is progressing.`),
      ],
    };
    const same = (['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas'] as const)
      .every((k) => (d.status?.[k] ?? 0) === status[k])
      && status.conditions.every((c) => previous(c.type)?.status === c.status && previous(c.type)?.reason === c.reason);
    if (same) return;
    await this.client.patch(apiPath(DEPLOYMENTS, { namespace: d.metadata.namespace, name: d.metadata.name, subresource: 'status' }), { status }).catch((err) => {
      if (!isNotFound(err)) throw err;
    });
  }
}
