import type { Logger } from '../../util/logger';
import { apiPath, DEPLOYMENTS, ENDPOINTS, EVENTS, LEASES, PODS, REPLICA_SETS, SERVICES, type ResourceType } from '../kube-client/api-path';
import { isNotFound } from '../kube-client/kube-api-error';
import type { KubeClient } from '../kube-client/kube-client';

/** What a namespace holds, owners before what they own so nothing is recreated meanwhile. */
const CONTENTS: ResourceType[] = [DEPLOYMENTS, REPLICA_SETS, PODS, SERVICES, ENDPOINTS, LEASES, EVENTS];

/**
 * Empties a namespace that was deleted: every object of every kind in it is deleted (pods on
 * nodes gracefully, so their kubelets stop them first). This apiserver removes the Namespace at once
 * rather than holding it Terminating behind a finalizer, so the sweep runs after it is gone.
 */
export class NamespaceController {
  constructor(private readonly client: KubeClient, private readonly log: Logger) {}

  async sync(namespace: string): Promise<void> {
    let deleted = 0;
    for (const type of CONTENTS) {
      const { items } = await this.client.list(apiPath(type, { namespace }));
      for (const o of items) {
        await this.client.delete(apiPath(type, { namespace, name: o.metadata.name })).catch((err) => {
          if (!isNotFound(err)) throw err;
        });
        deleted++;
      }
    }
    if (deleted > 0) this.log.info('deleted the contents of a deleted namespace', { namespace, objects: deleted });
  }
}
