import type { Logger } from '../../util/logger';
import { apiPath, ENDPOINTS } from '../kube-client/api-path';
import { isAlreadyExists, isNotFound } from '../kube-client/kube-api-error';
import type { KubeClient } from '../kube-client/kube-client';
import type { Informer } from '../kube-client/informer';
import type { KubeObject } from '../kube-object';
import { isPodReady, isTerminating } from './owner';

/**
 * Keeps an Endpoints object beside each Service that has a selector: the IPs of its ready pods as
 * addresses, the others that have an IP as notReadyAddresses, with the ports each pod serves the
 * service's ports on; removes it when the Service goes.
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
    if (svc === undefined) return this.serviceGone(key);
    if (!svc.spec?.selector) return;
    const ns: string = svc.metadata.namespace;
    const selector: Record<string, string> = svc.spec.selector;
    const pods = this.pods.list().filter((p) => p.metadata.namespace === ns && !isTerminating(p) && p.status?.podIP
      && Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v));
    const subsets = subsetsOf(svc.spec.ports ?? [], pods);
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
    this.log.debug('updated endpoints', { service: key, subsets: subsets.length });
  }

  /** The Service was deleted: its Endpoints go too (the informer may not have shown them yet, so ask). */
  private async serviceGone(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    await this.client.delete(apiPath(ENDPOINTS, { namespace, name })).then(
      () => this.log.debug('deleted endpoints of a deleted service', { service: key }),
      (err) => {
        if (!isNotFound(err)) throw err;
      },
    );
  }
}

/**
 * An Endpoints' subsets: the pods grouped by the ports they serve the service's ports on, as kube's
 * RepackSubsets groups them. A named targetPort is each pod's own containerPort of that name, so
 * pods can differ; a pod without it does not serve that port, and one serving none is left out.
 */
function subsetsOf(servicePorts: KubeObject[], pods: KubeObject[]): KubeObject[] {
  const groups = new Map<string, { addresses: KubeObject[]; notReadyAddresses: KubeObject[]; ports: KubeObject[] }>();
  for (const pod of pods) {
    const ports = servicePorts.flatMap((sp) => {
      const port = targetPortOf(sp, pod);
      return port === undefined ? [] : [{ ...(sp.name ? { name: sp.name } : {}), port, protocol: sp.protocol ?? 'TCP' }];
    });
    if (ports.length === 0 && servicePorts.length > 0) continue;
    const group = JSON.stringify(ports);
    if (!groups.has(group)) groups.set(group, { addresses: [], notReadyAddresses: [], ports });
    const address = { ip: pod.status.podIP, nodeName: pod.spec?.nodeName, targetRef: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid } };
    (isPodReady(pod) ? groups.get(group)!.addresses : groups.get(group)!.notReadyAddresses).push(address);
  }
  return [...groups.values()].map((g) => ({
    ...(g.addresses.length ? { addresses: g.addresses } : {}), ...(g.notReadyAddresses.length ? { notReadyAddresses: g.notReadyAddresses } : {}), ports: g.ports,
  }));
}

/** The pod's port for a service port: a numeric targetPort as it is, a named one by the pod's containerPort of that name and protocol. */
function targetPortOf(servicePort: KubeObject, pod: KubeObject): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  if (typeof target === 'number') return target;
  const protocol = servicePort.protocol ?? 'TCP';
  for (const c of pod.spec?.containers ?? []) {
    const found = (c.ports ?? []).find((p: KubeObject) => p.name === target && (p.protocol ?? 'TCP') === protocol);
    if (found !== undefined) return found.containerPort;
  }
  return undefined;
}
