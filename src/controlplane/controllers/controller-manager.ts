import type { Logger } from '../../util/logger';
import { apiPath, DEPLOYMENTS, ENDPOINTS, LEASES, NAMESPACES, NODES, PODS, REPLICA_SETS, SERVICES } from '../kube-client/api-path';
import type { KubeClient } from '../kube-client/kube-client';
import { Informer, objectKey, type InformerHandlers } from '../kube-client/informer';
import type { KubeObject } from '../kube-object';
import { DeploymentController } from './deployment-controller';
import { EndpointsController } from './endpoints-controller';
import { GarbageCollector } from './garbage-collector';
import { NamespaceController } from './namespace-controller';
import { NodeLifecycleController, type NodeLifecycleOptions } from './node-lifecycle-controller';
import { controllerUid } from './owner';
import { ReplicaSetController } from './replicaset-controller';
import { WorkQueue } from './work-queue';

export type ControllerManagerOptions = NodeLifecycleOptions;

/** How often the garbage collector looks for objects whose owners are gone (besides when an owner is deleted). */
const GC_PERIOD_MS = 5_000;

/**
 * kube-controller-manager's loops in one process over shared informers: ReplicaSet, Deployment,
 * Endpoints, node lifecycle with taint eviction, namespace deletion, and the garbage collector. Each informer event is
 * turned into the keys of the objects whose controller must look again.
 */
export class ControllerManager {
  private readonly informers: Informer[] = [];
  private readonly queues: WorkQueue[] = [];
  private readonly nodeLifecycle: NodeLifecycleController;
  private readonly gc: GarbageCollector;

  constructor(client: KubeClient, o: ControllerManagerOptions, log: Logger) {
    const watch = (path: string, handlers: InformerHandlers, query?: Record<string, string>) => {
      const informer = new Informer(client, path, handlers, { ...(query ? { query } : {}), onError: (err) => log.warn('watch failed; retrying', { path, error: (err as Error).message }) });
      this.informers.push(informer);
      return informer;
    };
    const each = (f: (o: KubeObject) => void): InformerHandlers => ({ added: f, updated: f, deleted: f });
    // Informers first (handlers reach the controllers lazily, once they exist below).
    const pods = watch(apiPath(PODS), {
      added: (p) => this.podEvent(p, 'added'), updated: (p) => this.podEvent(p, 'updated'), deleted: (p) => this.podEvent(p, 'deleted'),
    });
    const replicaSets = watch(apiPath(REPLICA_SETS), {
      ...each((rs) => this.replicaSetEvent(rs)), deleted: (rs) => { this.replicaSetEvent(rs); this.gc.kick(); },
    });
    const deployments = watch(apiPath(DEPLOYMENTS), { ...each((d) => this.deploymentQueue.add(objectKey(d))), deleted: () => this.gc.kick() });
    const services = watch(apiPath(SERVICES), each((s) => this.endpointsQueue.add(objectKey(s))));
    const endpoints = watch(apiPath(ENDPOINTS), {});
    const nodes = watch(apiPath(NODES), {});
    const leases = watch(apiPath(LEASES, { namespace: 'kube-node-lease' }), {});
    watch(apiPath(NAMESPACES), { deleted: (n) => this.namespaceQueue.add(n.metadata.name) });

    this.replicaSets = new ReplicaSetController(client, replicaSets, pods, log.child({ controller: 'replicaset' }));
    this.deployments = new DeploymentController(client, deployments, replicaSets, log.child({ controller: 'deployment' }));
    this.endpoints = new EndpointsController(client, services, pods, endpoints, log.child({ controller: 'endpoints' }));
    this.replicaSetQueue = this.queue('replicaset', (k) => this.replicaSets.sync(k), log);
    this.deploymentQueue = this.queue('deployment', (k) => this.deployments.sync(k), log);
    this.endpointsQueue = this.queue('endpoints', (k) => this.endpoints.sync(k), log);
    const namespaces = new NamespaceController(client, log.child({ controller: 'namespace' }));
    this.namespaceQueue = this.queue('namespace', (ns) => namespaces.sync(ns), log);
    this.nodeLifecycle = new NodeLifecycleController(client, nodes, leases, pods, o, log.child({ controller: 'node-lifecycle' }));
    this.gc = new GarbageCollector(client, { Deployment: deployments, ReplicaSet: replicaSets },
      [{ type: REPLICA_SETS, informer: replicaSets }, { type: PODS, informer: pods }], GC_PERIOD_MS, log.child({ controller: 'garbage-collector' }));
    this.log = log;
  }

  private readonly log: Logger;
  private readonly replicaSets: ReplicaSetController;
  private readonly deployments: DeploymentController;
  private readonly endpoints: EndpointsController;
  private readonly replicaSetQueue: WorkQueue;
  private readonly deploymentQueue: WorkQueue;
  private readonly endpointsQueue: WorkQueue;
  private readonly namespaceQueue: WorkQueue;

  async start(): Promise<void> {
    for (const i of this.informers) i.start();
    await Promise.all(this.informers.map((i) => i.hasSynced()));
    this.nodeLifecycle.start();
    this.gc.start();
    this.log.info('controllers started', { controllers: ['replicaset', 'deployment', 'endpoints', 'node-lifecycle', 'garbage-collector', 'namespace'] });
  }

  stop(): void {
    this.nodeLifecycle.stop();
    this.gc.stop();
    for (const q of this.queues) q.stop();
    for (const i of this.informers) i.stop();
  }

  private queue(name: string, sync: (key: string) => Promise<void>, log: Logger): WorkQueue {
    const q = new WorkQueue(name, sync, log);
    this.queues.push(q);
    return q;
  }

  private podEvent(pod: KubeObject, what: 'added' | 'updated' | 'deleted'): void {
    for (const rs of this.replicaSets.replicaSetsOfPod(pod)) {
      // What the ReplicaSet controller waits to see: its creations arriving, its deletions taking effect.
      const created = what === 'added' && controllerUid(pod) !== undefined;
      if (created || what === 'deleted' || pod.metadata?.deletionTimestamp) this.replicaSets.observed(rs, pod.metadata.name, created);
      this.replicaSetQueue.add(rs);
    }
    for (const svc of this.endpoints.servicesOf(pod.metadata.namespace)) this.endpointsQueue.add(svc);
  }

  private replicaSetEvent(rs: KubeObject): void {
    this.replicaSetQueue.add(objectKey(rs));
    const d = this.deployments.deploymentOfReplicaSet(rs);
    if (d !== undefined) this.deploymentQueue.add(d);
  }
}
