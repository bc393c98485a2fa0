import type { Logger } from '../../util/logger';
import { apiPath, DEPLOYMENTS, REPLICA_SETS, type ResourceType } from '../kube-client/api-path';
import { isNotFound } from '../kube-client/kube-api-error';
import type { KubeClient } from '../kube-client/kube-client';
import type { Informer } from '../kube-client/informer';
import type { KubeObject } from '../kube-object';
import { isTerminating } from './owner';

/** The owner kinds whose dependents this collector follows, and where to look one up. */
const OWNERS: Record<string, ResourceType> = { Deployment: DEPLOYMENTS, ReplicaSet: REPLICA_SETS };

/**
 * The garbage collector for background deletion: an object whose every owner (by uid) is gone is
 * deleted, so deleting a Deployment removes its ReplicaSets and, through them, their pods. An owner
 * missing from the caches is looked up on the apiserver before anything is deleted: a cache that
 * lags must never cost a live object.
 */
export class GarbageCollector {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly client: KubeClient,
    private readonly owners: Record<string, Informer>,
    private readonly dependents: Array<{ type: ResourceType; informer: Informer }>,
    private readonly periodMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.collect(), this.periodMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Runs a pass now (an owner was just deleted). */
  kick(): void {
    void this.collect();
  }

  private async collect(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const { type, informer } of this.dependents) {
        for (const o of informer.list()) {
          const refs: KubeObject[] = o.metadata?.ownerReferences ?? [];
          if (refs.length === 0 || isTerminating(o)) continue;
          if (await this.anyOwnerAlive(o.metadata.namespace, refs)) continue;
          await this.client.delete(apiPath(type, { namespace: o.metadata.namespace, name: o.metadata.name }), { propagationPolicy: 'Background' }).catch((err) => {
            if (!isNotFound(err)) throw err;
          });
          this.log.info('deleted an object whose owners are gone', { kind: type.resource, object: `${o.metadata.namespace}/${o.metadata.name}` });
        }
      }
    } catch (err) {
      this.log.warn('garbage collection pass failed', { error: (err as Error).message });
    } finally {
      this.running = false;
    }
  }

  private async anyOwnerAlive(namespace: string, refs: KubeObject[]): Promise<boolean> {
    for (const ref of refs) {
      const type = OWNERS[ref.kind];
      if (type === undefined) return true; // an owner kind this collector does not know: leave the object alone
      const cached = this.owners[ref.kind]?.get(`${namespace}/${ref.name}`);
      if (cached !== undefined && cached.metadata?.uid === ref.uid && !isTerminating(cached)) return true;
      try {
        const live = await this.client.get(apiPath(type, { namespace, name: ref.name }));
        if (live.metadata?.uid === ref.uid) return true;
      } catch (err) {
        if (!isNotFound(err)) return true; // cannot tell: keep it
      }
    }
    return false;
  }
}

