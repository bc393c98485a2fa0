import type { Logger } from '../../util/logger';
import { apiPath, NODES, PODS } from '../kube-client/api-path';
import { recordEvent } from '../kube-client/events';
import { isConflict, isNotFound } from '../kube-client/kube-api-error';
import type { KubeClient } from '../kube-client/kube-client';
import { Informer, objectKey } from '../kube-client/informer';
import type { KubeObject } from '../kube-object';
import { podRequests, type PodRequests } from '../quantity';
import { score, unschedulableMessage, whyNotFit, type NodeUsage } from './node-fit';
import { kubeTime } from '../kube-time';

export const SCHEDULER_NAME = 'default-scheduler';

export interface SchedulerOptions {
  /** First wait before an unschedulable pod is tried again (doubling to 10 s); node changes retry at once. */
  backoffMs?: number;
}

const MAX_BACKOFF_MS = 10_000;

/**
 * Places pods that have no node: informers on nodes and on every pod not yet finished (to count
 * what each node already runs), one pod at a time in creation order; filters and scores the nodes
 * (node-fit.ts) and binds through the binding subresource, which refuses a pod already bound, so a
 * second scheduler acting at the same time cannot place a pod twice. A pod that fits nowhere gets
 * PodScheduled=False and a FailedScheduling event, and is tried again when a node changes.
 */
export class Scheduler {
  private readonly pods: Informer;
  private readonly nodes: Informer;
  /** Pods waiting to be tried, by key. */
  private readonly queue = new Set<string>();
  /** Pods that fit nowhere: when to try each again, and its current back-off. */
  private readonly waiting = new Map<string, { timer: NodeJS.Timeout; backoffMs: number }>();
  /** Pods this scheduler bound whose binding the pod informer has not shown yet: their node. */
  private readonly assumed = new Map<string, string>();
  private running = false;
  private stopped = false;

  constructor(private readonly client: KubeClient, private readonly log: Logger, private readonly o: SchedulerOptions = {}) {
    this.pods = new Informer(client, apiPath(PODS), {
      added: (p) => this.podChanged(p),
      updated: (p) => this.podChanged(p),
      deleted: (p) => this.forget(objectKey(p)),
    }, { query: { fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' }, onError: (err) => this.log.warn('pod watch failed; retrying', { error: (err as Error).message }) });
    this.nodes = new Informer(client, apiPath(NODES), {
      added: () => this.retryWaiting(),
      updated: () => this.retryWaiting(),
    }, { onError: (err) => this.log.warn('node watch failed; retrying', { error: (err as Error).message }) });
  }

  async start(): Promise<void> {
    this.pods.start();
    this.nodes.start();
    await Promise.all([this.pods.hasSynced(), this.nodes.hasSynced()]);
    this.log.info('scheduler started', { nodes: this.nodes.list().length, pods: this.pods.list().length });
    for (const p of this.pods.list()) this.podChanged(p);
  }

  stop(): void {
    this.stopped = true;
    this.pods.stop();
    this.nodes.stop();
    for (const w of this.waiting.values()) clearTimeout(w.timer);
  }

  private podChanged(pod: KubeObject): void {
    const key = objectKey(pod);
    if (pod.spec?.nodeName) {
      this.forget(key);
      return;
    }
    const mine = (pod.spec?.schedulerName ?? SCHEDULER_NAME) === SCHEDULER_NAME;
    if (!mine || pod.metadata?.deletionTimestamp || this.waiting.has(key)) return;
    this.queue.add(key);
    this.kick();
  }

  private forget(key: string): void {
    this.queue.delete(key);
    this.assumed.delete(key);
    const w = this.waiting.get(key);
    if (w) clearTimeout(w.timer);
    this.waiting.delete(key);
  }

  /** A node came, went or changed: every pod that fit nowhere gets another try now. */
  private retryWaiting(): void {
    for (const [key, w] of this.waiting) {
      clearTimeout(w.timer);
      this.queue.add(key);
    }
    this.waiting.clear();
    this.kick();
  }

  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    void this.drain().finally(() => {
      this.running = false;
      if (this.queue.size > 0 && !this.stopped) this.kick();
    });
  }

  private async drain(): Promise<void> {
    // Node usage is counted once per pass and then kept up to date with this pass's own choices,
    // so a pass over n pods costs n × nodes, not n × pods.
    const usage = this.usage();
    const binds = new Set<Promise<void>>();
    while (this.queue.size > 0 && !this.stopped) {
      // Oldest first: pods enter the queue in the order they were created, as the scheduling queue orders equal priorities.
      const key = this.queue.values().next().value as string;
      this.queue.delete(key);
      const pod = this.pods.get(key);
      if (pod === undefined || pod.spec?.nodeName || pod.metadata?.deletionTimestamp || this.assumed.has(key)) continue;
      const node = this.choose(key, pod, usage);
      if (node === undefined) continue;
      // Bindings go out several at a time; the pod counts on its node from now on (assumed).
      this.assumed.set(key, node);
      add(usage, node, podRequests(pod));
      const bind = this.bind(key, pod, node).catch((err: unknown) => {
        this.assumed.delete(key);
        this.log.warn('could not bind pod; will retry', { pod: key, node, error: (err as Error).message });
        this.wait(key);
      }).finally(() => binds.delete(bind));
      binds.add(bind);
      if (binds.size >= MAX_BINDS_IN_FLIGHT) await Promise.race(binds);
    }
    await Promise.all(binds);
  }

  /** The best node for the pod, or undefined after marking it unschedulable. */
  private choose(key: string, pod: KubeObject, usage: Map<string, NodeUsage>): string | undefined {
    try {
      podRequests(pod);
    } catch (err) {
      // Only a pod stored before the apiserver refused such quantities gets here: it fits nowhere,
      // and must not stop the pods queued behind it.
      void this.unschedulable(key, pod, `invalid resource requests: ${(err as Error).message}`);
      return undefined;
    }
    const nodes = this.nodes.list();
    const reasons: string[] = [];
    let best: { node: KubeObject; score: number } | undefined;
    for (const node of nodes) {
      const u = usage.get(node.metadata.name) ?? { cpu: 0, memory: 0, pods: 0 };
      const why = whyNotFit(pod, node, u);
      if (why !== undefined) {
        reasons.push(why);
        continue;
      }
      const s = score(pod, node, u);
      // Equal scores go to the node whose name sorts first, so a run is reproducible.
      if (best === undefined || s > best.score || (s === best.score && node.metadata.name < best.node.metadata.name)) best = { node, score: s };
    }
    if (best === undefined) {
      void this.unschedulable(key, pod, unschedulableMessage(nodes.length, reasons));
      return undefined;
    }
    return best.node.metadata.name;
  }

  private async bind(key: string, pod: KubeObject, nodeName: string): Promise<void> {
    const { namespace, name, uid } = pod.metadata;
    try {
      await this.client.create(apiPath(PODS, { namespace, name, subresource: 'binding' }),
        { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace, uid }, target: { apiVersion: 'v1', kind: 'Node', name: nodeName } });
    } catch (err) {
      // Bound by another scheduler (or an earlier try of ours), or gone: nothing left to do here.
      if (isConflict(err) || isNotFound(err)) return;
      throw err;
    }
    this.log.debug('bound pod to node', { pod: key, node: nodeName });
    void recordEvent(this.client, SCHEDULER_NAME, { ...pod, kind: 'Pod', apiVersion: 'v1' }, 'Normal', 'Scheduled', `Successfully assigned ${key} to ${nodeName}`);
  }

  private async unschedulable(key: string, pod: KubeObject, message: string): Promise<void> {
    this.log.info('pod fits no node', { pod: key, why: message });
    const { namespace, name } = pod.metadata;
    const condition = { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastTransitionTime: kubeTime() };
    const current = (pod.status?.conditions ?? []).find((c: { type: string }) => c.type === 'PodScheduled');
    if (current?.message !== message) {
      await this.client.patch(apiPath(PODS, { namespace, name, subresource: 'status' }), { status: { conditions: [condition] } }, 'strategic').catch(() => undefined);
      await recordEvent(this.client, SCHEDULER_NAME, { ...pod, kind: 'Pod', apiVersion: 'v1' }, 'Warning', 'FailedScheduling', message);
    }
    this.wait(key);
  }

  /** Tries the pod again after its back-off (or sooner, if a node changes). */
  private wait(key: string): void {
    if (this.stopped) return;
    const backoffMs = Math.min((this.waiting.get(key)?.backoffMs ?? (this.o.backoffMs ?? 1000) / 2) * 2, MAX_BACKOFF_MS);
    const timer = setTimeout(() => {
      this.waiting.delete(key);
      this.queue.add(key);
      this.kick();
    }, backoffMs);
    this.waiting.set(key, { timer, backoffMs });
  }

  /** What each node's pods request: those bound, and those this scheduler just bound there. */
  private usage(): Map<string, NodeUsage> {
    const out = new Map<string, NodeUsage>();
    for (const p of this.pods.list()) {
      const node = p.spec?.nodeName || this.assumed.get(objectKey(p));
      if (node) add(out, node, requestsOrNone(p));
    }
    return out;
  }
}

const MAX_BINDS_IN_FLIGHT = 16;

function add(usage: Map<string, NodeUsage>, node: string, r: PodRequests): void {
  const u = usage.get(node) ?? { cpu: 0, memory: 0, pods: 0 };
  usage.set(node, { cpu: u.cpu + r.cpu, memory: u.memory + r.memory, pods: u.pods + 1 });
}

/** A bound pod's requests; one whose quantities do not parse (stored before the apiserver refused them) still takes a pod slot. */
function requestsOrNone(pod: KubeObject): PodRequests {
  try {
    return podRequests(pod);
  } catch {
    return { cpu: 0, memory: 0 };
  }
}
