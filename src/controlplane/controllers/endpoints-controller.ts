import type { Logger } from '../../util/logger';
import { apiPath, ENDPOINTS } from '../kube-client/api-path';
import { isAlreadyExists, isNotFound } from '../kube-client/kube-api-error';
import type { KubeClient } from '../kube-client/kube-client';
import type { Informer } from '../kube-client/informer';
import type { KubeObject } from '../kube-object';
import { isPodReady, isTerminating } from './owner';

/**
 * Keeps an Endpoints object beside each Service that has a selector: the IPs of its ready pods as
 * addresses, the others that have an IP as notReadyAddresses, and the service's ports (targetPort
 * when numeric).
 */
export class EndpointsController {
  constructor(
    private readonly client: KubeClient,
    private readonly services: Informer,
    private readonly pods: Informer,
    private readonly endpoints: Informer,
    private readonly log: Logger,
  ) {}

  /** The services a pod's change may concern: every service with a selector in its namespace. */
  servicesOf(namespace: string): string[] {
    return this.services.list().filter((s) => s.metadata.namespace === namespace && s.spec?.selector).map((s) => `${namespace}/${s.metadata.name}`);
  }

  async sync(key: string): Promise<void> {
    const svc = this.services.get(key);
    if (svc === undefined || !svc.spec?.selector) return;
    const ns: string = svc.metadata.namespace;
    const selector: Record<string, string> = svc.spec.selector;
    const pods = this.pods.list().filter((p) => p.metadata.namespace === ns && !isTerminating(p) && p.status?.podIP
      && Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v));
    const address = (p: KubeObject) => ({ ip: p.status.podIP, nodeName: p.spec?.nodeName, targetRef: { kind: 'Pod', namespace: ns, name: p.metadata.name, uid: p.metadata.uid } });
    const ready = pods.filter(isPodReady).map(address);
    const notReady = pods.filter((p) => !isPodReady(p)).map(address);
    const ports = (svc.spec.ports ?? []).map((p: KubeObject) => ({
      ...(p.name ? { name: p.name } : {}), port: typeof p.targetPort === 'number' ? p.targetPort : p.port, protocol: p.protocol ?? 'TCP',
    }));
    const subsets = ready.length + notReady.length === 0 ? [] : [{ ...(ready.length ? { addresses: ready } : {}), ...(notReady.length ? { notReadyAddresses: notReady } : {}), ports }];
    const existing = this.endpoints.get(key);
    if (existing !== undefined && JSON.stringify(existing.subsets ?? []) === JSON.stringify(subsets)) return;
    const body = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: svc.metadata.name, namespace: ns, labels: svc.metadata.labels }, subsets };
    if (existing === undefined) {
      await this.client.create(apiPath(ENDPOINTS, { namespace: ns }), body).catch(async (err) => {
        if (!isAlreadyExists(err)) throw err;
        await this.client.patch(apiPath(ENDPOINTS, { namespace: ns, name: svc.metadata.name }), { subsets });
      });
    } else {
      await this.client.patch(apiPath(ENDPOINTS, { namespace: ns, name: svc.metadata.name }), { subsets }).catch((err) => {
        if (!isNotFound(err)) throw err;
      });
    }
    this.log.debug('updated endpoints', { service: key, ready: ready.length, 'not-ready': notReady.length });
  }
}
