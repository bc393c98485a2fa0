import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServerProcess } from '../cluster-test/support/apiserver-process';
import { startComponentProcess, type ComponentProcess } from '../cluster-test/support/component-process';
import { apiPath, NODES, PODS } from '../src/controlplane/kube-client/api-path';
import { KubeClient } from '../src/controlplane/kube-client/kube-client';
import { summarize, type LatencySummary } from './stats';
import { startTarget, type System } from './targets';

export interface ScaleSettings {
  nodes: number;
  pods: number;
  /** Concurrent clients creating the pods. */
  creators: number;
}

/** One system's scale row: how fast the scheduler places pods on simulated nodes. */
export interface ScaleResult {
  system: System;
  nodes: number;
  pods: number;
  /** Pods bound per second, from the first create to the last binding. */
  scheduledPerSec: number;
  createToScheduled: LatencySummary;
  createToRunning: LatencySummary;
  /** Pods that were not Running when the run gave up (0 when all made it). */
  notRunning: number;
}

const GIVE_UP_MS = 300_000;

const pod = (name: string) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'scale' } },
  spec: { containers: [{ name: 'c', image: 'none', command: ['true'], resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
});

/**
 * kwok's kind of scale run: a three-member store, one apiserver, a scheduler, and one kubelet
 * process simulating many nodes (they register, heartbeat and report bound pods Running, but run
 * nothing). Creates the pods with `creators` clients and times each from its create to its
 * binding and to Running, as a watch on the pods sees them.
 */
export async function runControlPlaneScale(systems: readonly System[], s: ScaleSettings, log: (line: string) => void): Promise<ScaleResult[]> {
  const results: ScaleResult[] = [];
  for (const system of systems) {
    const dir = await mkdtemp(join(tmpdir(), 'keel-scale-'));
    const target = await startTarget(system, 3);
    const api = await startApiServerProcess(target.endpoints);
    const components: ComponentProcess[] = [];
    const client = new KubeClient([api.url], { requestTimeoutMs: 60_000 });
    try {
      components.push(await startComponentProcess('keel-kubelet', ['--apiservers', api.url, '--node-name', 'kwok', '--simulate', '--simulate-nodes', String(s.nodes),
        '--root-dir', join(dir, 'kubelet'), '--port', '0'], /ready, serving logs/));
      components.push(await startComponentProcess('keel-scheduler', ['--apiservers', api.url], /scheduler started/));
      log(`${system}: waiting for ${s.nodes} simulated nodes to be Ready`);
      for (;;) {
        const nodes = (await client.list(apiPath(NODES))).items;
        const ready = nodes.filter((n) => n.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'));
        if (ready.length >= s.nodes) break;
        await new Promise((r) => setTimeout(r, 200));
      }

      const createdAt = new Map<string, number>();
      const scheduledAt = new Map<string, number>();
      const runningAt = new Map<string, number>();
      const podsPath = apiPath(PODS, { namespace: 'default' });
      const from = (await client.list(podsPath, { limit: '1' })).resourceVersion;
      const watch = await client.watch(podsPath, { resourceVersion: from }, (ev) => {
        const name: string = ev.object.metadata?.name;
        const now = performance.now();
        if (ev.object.spec?.nodeName && !scheduledAt.has(name)) scheduledAt.set(name, now);
        if (ev.object.status?.phase === 'Running' && !runningAt.has(name)) runningAt.set(name, now);
      });
      log(`${system}: creating ${s.pods} pods with ${s.creators} clients`);
      let next = 0;
      const progress = setInterval(() => log(`${system}: ${createdAt.size} created, ${scheduledAt.size} scheduled, ${runningAt.size} running`), 2000);
      try {
        await Promise.all(Array.from({ length: s.creators }, async () => {
          while (next < s.pods) {
            const name = `scale-${next++}`;
            createdAt.set(name, performance.now());
            await client.create(podsPath, pod(name));
          }
        }));
        const giveUp = performance.now() + GIVE_UP_MS;
        while (runningAt.size < s.pods && performance.now() < giveUp) await new Promise((r) => setTimeout(r, 100));
      } finally {
        clearInterval(progress);
        watch.close();
      }
      const first = Math.min(...createdAt.values());
      const lastScheduled = Math.max(...scheduledAt.values());
      const delays = (at: Map<string, number>) => [...at].map(([name, t]) => t - createdAt.get(name)!);
      results.push({
        system, nodes: s.nodes, pods: s.pods,
        scheduledPerSec: scheduledAt.size / ((lastScheduled - first) / 1000),
        createToScheduled: summarize(delays(scheduledAt)),
        createToRunning: summarize(delays(runningAt)),
        notRunning: s.pods - runningAt.size,
      });
    } finally {
      client.close();
      for (const c of components) await c.stop();
      await api.stop();
      await target.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }
  return results;
}

/** A markdown table, one column per system. */
export function formatScaleTable(results: ScaleResult[]): string {
  const ms = (v: number) => v.toFixed(0);
  const first = results[0];
  if (first === undefined) return '';
  const lines: Array<[string, (r: ScaleResult) => string]> = [
    ['pods scheduled/s', (r) => r.scheduledPerSec.toFixed(0)],
    ['create → scheduled p50 / p99 ms', (r) => `${ms(r.createToScheduled.p50Ms)} / ${ms(r.createToScheduled.p99Ms)}`],
    ['create → Running p50 / p99 ms', (r) => `${ms(r.createToRunning.p50Ms)} / ${ms(r.createToRunning.p99Ms)}`],
    ['pods not Running at the end', (r) => String(r.notRunning)],
  ];
  const header = `| scale row | ${results.map((r) => `on ${r.system}`).join(' | ')} |`;
  const rule = `|---|${results.map(() => '---').join('|')}|`;
  return [`## control plane at scale (${first.nodes} simulated nodes, ${first.pods} pods, three-member store)`, '', header, rule,
    ...lines.map(([label, f]) => `| ${label} | ${results.map(f).join(' | ')} |`), ''].join('\n');
}
