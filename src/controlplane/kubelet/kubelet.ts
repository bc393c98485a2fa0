import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Logger } from '../../util/logger';
import { apiPath, PODS } from '../kube-client/api-path';
import { recordEvent } from '../kube-client/events';
import { isAlreadyExists, isNotFound } from '../kube-client/kube-api-error';
import type { KubeClient } from '../kube-client/kube-client';
import { Informer, objectKey } from '../kube-client/informer';
import type { KubeObject } from '../kube-object';
import { startLogServer } from './log-server';
import { NodeHeartbeat, nodeObject } from './node-heartbeat';
import { PodWorker } from './pod-worker';
import { kubeTime } from '../kube-time';
import { SerialPerKey } from '../../util/serial-per-key';

export interface KubeletOptions {
  nodeName: string;
  roles: string[];
  rootDir: string;
  /** The log server's port (0: any free one). */
  port: number;
  leaseRenewMs: number;
  statusEveryMs: number;
  backoffMs: number;
  maxBackoffMs: number;
  /** A directory of pod manifests to run as static pods (with mirror pods in the apiserver). */
  podManifestPath?: string;
  /** kwok style: register `simulateNodes` nodes (or just this one) and report their pods Running without running anything. */
  simulate: boolean;
  simulateNodes?: number;
}

const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';
const TERMINAL = new Set(['Succeeded', 'Failed']);

/**
 * A node agent: registers its node and keeps its Lease and status fresh, watches the pods bound
 * to it, runs each as local processes (pod-worker.ts), reports their status, finishes their
 * graceful deletion, serves their logs, and keeps static pods from a manifest directory running.
 * In simulate mode it does all of that for many nodes without running anything.
 */
export class Kubelet {
  private readonly heartbeats: NodeHeartbeat[] = [];
  private readonly workers = new Map<string, { worker: PodWorker; uid: string; dir: string; deleting: boolean }>();
  private readonly reported = new Map<string, string>();
  /** One status report per pod in flight: two at once could land out of order, the older last. */
  private readonly reports = new SerialPerKey((key) => this.report(key));
  private readonly nodeNames: Set<string>;
  private pods: Informer | undefined;
  private logServer: Server | undefined;
  private staticTimer: NodeJS.Timeout | undefined;

  constructor(private readonly client: KubeClient, private readonly o: KubeletOptions, private readonly log: Logger) {
    const n = o.simulate && o.simulateNodes !== undefined ? o.simulateNodes : 1;
    this.nodeNames = new Set(n === 1 && o.simulateNodes === undefined ? [o.nodeName] : Array.from({ length: n }, (_, i) => `${o.nodeName}-${i}`));
  }

  /** Starts serving logs, registers the node(s), then runs the pods bound to them; resolves with the log port. */
  async start(): Promise<number> {
    mkdirSync(join(this.o.rootDir, 'pods'), { recursive: true });
    if (!this.o.simulate) this.killLeftovers();
    const { server, address } = await startLogServer((ns, pod, container) => this.logFile(ns, pod, container), '127.0.0.1', this.o.port);
    this.logServer = server;
    await Promise.all([...this.nodeNames].map(async (name) => {
      const hb = new NodeHeartbeat(this.client, nodeObject({ name, roles: this.o.roles, port: address.port }, this.o.simulate),
        { leaseRenewMs: this.o.leaseRenewMs, statusEveryMs: this.o.statusEveryMs }, this.log);
      this.heartbeats.push(hb);
      await hb.register();
    }));
    // One node: only its pods. Many simulated nodes: every pod, sorted out here (one watch, not hundreds).
    const query = this.nodeNames.size === 1 ? { fieldSelector: `spec.nodeName=${[...this.nodeNames][0]}` } : { fieldSelector: 'spec.nodeName!=' };
    this.pods = new Informer(this.client, apiPath(PODS), {
      added: (p) => this.forOnePod(p, () => this.sync(p)),
      updated: (p) => this.forOnePod(p, () => this.sync(p)),
      deleted: (p) => this.forOnePod(p, () => this.gone(p)),
    }, { query, onError: (err) => this.log.warn('pod watch failed; retrying', { error: (err as Error).message }) });
    this.pods.start();
    await this.pods.hasSynced();
    if (this.o.podManifestPath !== undefined) {
      await this.syncStaticPods();
      this.staticTimer = setInterval(() => void this.syncStaticPods(), this.o.statusEveryMs);
    }
    this.log.info('kubelet started', { nodes: this.nodeNames.size, 'log-port': address.port, simulate: this.o.simulate });
    return address.port;
  }

  /** Stops the heartbeats and every container (SIGTERM, then SIGKILL after 2 s). */
  async stop(): Promise<void> {
    clearInterval(this.staticTimer);
    for (const hb of this.heartbeats) hb.stop();
    this.pods?.stop();
    await Promise.all([...this.workers.values()].map((w) => w.worker.terminate(2)));
    this.logServer?.close();
  }

  /** Runs a watch handler for one pod: what goes wrong with that pod is logged, never thrown into the watch, where it would end the kubelet and every other pod with it. */
  private forOnePod(pod: KubeObject, handle: () => void): void {
    try {
      handle();
    } catch (err) {
      this.log.error('could not handle pod', { pod: objectKey(pod), error: (err as Error).message });
    }
  }

  private sync(pod: KubeObject): void {
    if (!this.nodeNames.has(pod.spec?.nodeName)) return;
    const key = objectKey(pod);
    if (pod.metadata?.deletionTimestamp) {
      void this.finishDeletion(key, pod);
      return;
    }
    if (this.o.simulate) {
      if (pod.status?.phase !== 'Running') void this.reportSimulated(pod);
      return;
    }
    const known = this.workers.get(key);
    if (known !== undefined && known.uid === pod.metadata.uid) return;
    if (TERMINAL.has(pod.status?.phase)) return; // finished before this kubelet started: nothing to run
    const dir = join(this.o.rootDir, 'pods', `${pod.metadata.namespace}_${pod.metadata.name}_${pod.metadata.uid}`);
    mkdirSync(dir, { recursive: true });
    const worker = new PodWorker(pod, {
      dir, backoffMs: this.o.backoffMs, maxBackoffMs: this.o.maxBackoffMs,
      changed: () => this.reports.request(key),
      event: (type, reason, message) => void recordEvent(this.client, 'kubelet', { ...pod, kind: 'Pod', apiVersion: 'v1' }, type, reason, message),
    });
    this.workers.set(key, { worker, uid: pod.metadata.uid, dir, deleting: false });
    this.log.info('starting pod', { pod: key });
    void recordEvent(this.client, 'kubelet', { ...pod, kind: 'Pod', apiVersion: 'v1' }, 'Normal', 'Started', `Started ${pod.spec.containers?.length ?? 0} container(s)`);
    worker.start();
  }

  /** The pod's status, sent when it differs from what was last sent. */
  private async report(key: string): Promise<void> {
    const w = this.workers.get(key);
    const pod = this.pods?.get(key);
    if (w === undefined || pod === undefined) return;
    const status = w.worker.status();
    const fingerprint = JSON.stringify({ ...status, conditions: status.conditions.map((c: KubeObject) => [c.type, c.status]) });
    if (this.reported.get(key) === fingerprint) return;
    this.reported.set(key, fingerprint);
    try {
      await this.client.patch(apiPath(PODS, { namespace: pod.metadata.namespace, name: pod.metadata.name, subresource: 'status' }), { status }, 'merge');
    } catch (err) {
      this.reported.delete(key);
      if (!isNotFound(err)) this.log.warn('could not report pod status', { pod: key, error: (err as Error).message });
    }
  }

  /** Stops a pod being deleted within its grace period, then removes the object (uid precondition). */
  private async finishDeletion(key: string, pod: KubeObject): Promise<void> {
    const w = this.workers.get(key);
    if (w?.deleting) return;
    if (w) {
      w.deleting = true;
      await w.worker.terminate(pod.metadata.deletionGracePeriodSeconds ?? 30);
    }
    this.workers.delete(key);
    this.reported.delete(key);
    try {
      await this.client.delete(apiPath(PODS, { namespace: pod.metadata.namespace, name: pod.metadata.name }), { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
      this.log.info('pod deleted', { pod: key });
    } catch (err) {
      if (!isNotFound(err)) this.log.warn('could not finish deleting pod', { pod: key, error: (err as Error).message });
    }
  }

  /** The pod object went (deleted at once, or unbound): its processes go too. */
  private gone(pod: KubeObject): void {
    const key = objectKey(pod);
    const w = this.workers.get(key);
    if (w === undefined) return;
    this.workers.delete(key);
    this.reported.delete(key);
    void w.worker.terminate(0);
  }

  private async reportSimulated(pod: KubeObject): Promise<void> {
    const at = kubeTime();
    const status = {
      phase: 'Running', hostIP: '127.0.0.1', podIP: '127.0.0.1', startTime: at,
      conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: at })),
      containerStatuses: (pod.spec.containers ?? []).map((c: KubeObject) => ({ name: c.name, image: c.image ?? '', imageID: '', ready: true, started: true, restartCount: 0, state: { running: { startedAt: at } } })),
    };
    await this.client.patch(apiPath(PODS, { namespace: pod.metadata.namespace, name: pod.metadata.name, subresource: 'status' }), { status }, 'merge').catch(() => undefined);
  }

  private logFile(namespace: string, name: string, container: string): string | undefined {
    const w = this.workers.get(`${namespace}/${name}`);
    if (w !== undefined) return join(w.dir, `${container}.log`);
    // A pod that finished (or whose worker went): its directory is still here.
    const prefix = `${namespace}_${name}_`;
    const dir = readdirSync(join(this.o.rootDir, 'pods')).find((d) => d.startsWith(prefix));
    return dir === undefined ? undefined : join(this.o.rootDir, 'pods', dir, `${container}.log`);
  }

  /**
   * Containers of a kubelet that was killed keep running (they are process groups of their own, as
   * containers outlive a kubelet); this kubelet starts its pods afresh, so it ends those first.
   */
  private killLeftovers(): void {
    const pods = join(this.o.rootDir, 'pods');
    for (const dir of readdirSync(pods)) {
      for (const f of readdirSync(join(pods, dir)).filter((x) => x.endsWith('.pid'))) {
        const pid = Number(readFileSync(join(pods, dir, f), 'utf8'));
        try {
          process.kill(-pid, 'SIGKILL');
          this.log.info('killed a container left by an earlier kubelet', { pod: dir, pid });
        } catch {
          // gone already
        }
        rmSync(join(pods, dir, f), { force: true });
      }
    }
  }

  /** Creates the mirror pod of each manifest in the static pod directory that has none. */
  private async syncStaticPods(): Promise<void> {
    const dir = this.o.podManifestPath!;
    if (!existsSync(dir)) return;
    for (const file of readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f)).sort()) {
      let manifest: KubeObject;
      try {
        manifest = parseYaml(readFileSync(join(dir, file), 'utf8')) as KubeObject;
      } catch (err) {
        this.log.warn('cannot read static pod manifest', { file, error: (err as Error).message });
        continue;
      }
      const node = this.o.nodeName;
      const namespace: string = manifest.metadata?.namespace ?? 'default';
      const mirror = {
        ...manifest, apiVersion: 'v1', kind: 'Pod',
        metadata: {
          ...manifest.metadata, name: `${manifest.metadata?.name}-${node}`, namespace,
          annotations: { ...manifest.metadata?.annotations, [MIRROR_ANNOTATION]: file, 'kubernetes.io/config.source': 'file' },
        },
        spec: { ...manifest.spec, nodeName: node },
      };
      if (this.pods?.get(`${namespace}/${mirror.metadata.name}`) !== undefined) continue;
      try {
        await this.client.create(apiPath(PODS, { namespace }), mirror);
        this.log.info('created mirror pod for a static pod', { pod: `${namespace}/${mirror.metadata.name}`, file });
      } catch (err) {
        if (!isAlreadyExists(err)) this.log.warn('could not create mirror pod', { file, error: (err as Error).message });
      }
    }
  }
}
