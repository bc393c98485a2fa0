import { call, openWatch, type WatchStream } from '../cluster-test/support/apiserver';
import type { KubeObject } from '../src/controlplane/kube-object';
import { startApiServerProcess } from '../cluster-test/support/apiserver-process';
import { summarize, type LatencySummary } from './stats';
import { startTarget, type System } from './targets';

/** The apiserver rows of one system (keel-apiserver as its own process, on a one-member store). */
export interface ApiserverResult {
  system: System;
  createsPerSec: number;
  create: LatencySummary;
  /** The pods in the store when the list rows ran. */
  listedPods: number;
  list: LatencySummary;
  watchers: number;
  /** From sending a create to each watcher's receipt of its event. */
  watchDelivery: LatencySummary;
  delivered: number;
  expectedDeliveries: number;
}

const PODS = '/api/v1/namespaces/default/pods';
const CREATE_CLIENTS = 16;
const LIST_PODS = 10_000;
const LISTS = 20;
const WATCHERS = 100;
const WATCHED_CREATES = 100;

const pod = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'bench' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });

/**
 * Pods created per second by 16 closed-loop HTTP clients; the latency of listing 10,000 pods; and
 * watch fan-out: 100 HTTP watchers, each event's latency from sending the create to its receipt.
 */
export async function runApiserverBench(systems: readonly System[], durationMs: number, log: (line: string) => void): Promise<ApiserverResult[]> {
  const results: ApiserverResult[] = [];
  for (const system of systems) {
    const target = await startTarget(system, 1);
    const api = await startApiServerProcess(target.endpoints);
    try {
      log(`${system} apiserver: creating pods with ${CREATE_CLIENTS} clients for ${durationMs / 1000} s`);
      let next = 0;
      const latencies: number[] = [];
      const deadline = performance.now() + durationMs;
      const started = performance.now();
      await Promise.all(Array.from({ length: CREATE_CLIENTS }, async () => {
        while (performance.now() < deadline) {
          const sent = performance.now();
          const r = await call(api.url, 'POST', PODS, pod(`p${next++}`));
          if (r.status !== 201) throw new Error(`create answered ${r.status}: ${JSON.stringify(r.body)}`);
          latencies.push(performance.now() - sent);
        }
      }));
      const createsPerSec = latencies.length / ((performance.now() - started) / 1000);

      log(`${system} apiserver: filling to ${LIST_PODS} pods`);
      await Promise.all(Array.from({ length: CREATE_CLIENTS }, async () => {
        while (next < LIST_PODS) await call(api.url, 'POST', PODS, pod(`p${next++}`));
      }));
      const listLatencies: number[] = [];
      let listedPods = 0;
      for (let i = 0; i < LISTS; i++) {
        const sent = performance.now();
        const r = await call(api.url, 'GET', PODS);
        listLatencies.push(performance.now() - sent);
        listedPods = r.body.items.length;
      }

      log(`${system} apiserver: ${WATCHERS} watchers, ${WATCHED_CREATES} creates`);
      const from = (await call(api.url, 'GET', `${PODS}?limit=1`)).body.metadata.resourceVersion;
      const receivedAt = new Map<string, number[]>();
      const received = (ev: { object: KubeObject }) => {
        const name = ev.object.metadata.name as string;
        receivedAt.set(name, [...(receivedAt.get(name) ?? []), performance.now()]);
      };
      const watches: WatchStream[] = [];
      for (let i = 0; i < WATCHERS; i++) watches.push(await openWatch(api.url, `${PODS}?watch=true&resourceVersion=${from}`, received));
      const sentAt = new Map<string, number>();
      for (let i = 0; i < WATCHED_CREATES; i++) {
        const name = `w${i}`;
        sentAt.set(name, performance.now());
        await call(api.url, 'POST', PODS, pod(name));
      }
      const expected = WATCHERS * WATCHED_CREATES;
      const waitUntil = performance.now() + 30_000;
      while ([...receivedAt.values()].reduce((n, v) => n + v.length, 0) < expected && performance.now() < waitUntil) {
        await new Promise((r) => setTimeout(r, 10));
      }
      for (const w of watches) w.close();
      const delivery = [...receivedAt.entries()].flatMap(([name, times]) => times.map((t) => t - sentAt.get(name)!));
      results.push({
        system, createsPerSec, create: summarize(latencies), listedPods, list: summarize(listLatencies), watchers: WATCHERS,
        watchDelivery: summarize(delivery), delivered: delivery.length, expectedDeliveries: expected,
      });
    } finally {
      await api.stop();
      await target.stop();
    }
  }
  return results;
}

/** A markdown table, one column per system. */
export function formatApiserverTable(results: ApiserverResult[]): string {
  const ms = (v: number) => v.toFixed(1);
  const lines: Array<[string, (r: ApiserverResult) => string]> = [
    [`pods created/s (${CREATE_CLIENTS} clients)`, (r) => r.createsPerSec.toFixed(0)],
    ['create p50 / p99 ms', (r) => `${ms(r.create.p50Ms)} / ${ms(r.create.p99Ms)}`],
    [`list of ${LIST_PODS.toLocaleString('en')} pods p50 / p99 ms`, (r) => `${ms(r.list.p50Ms)} / ${ms(r.list.p99Ms)} (${r.listedPods} pods)`],
    [`watch fan-out to ${WATCHERS} watchers: create sent to event received p50 / p99 ms`, (r) => `${ms(r.watchDelivery.p50Ms)} / ${ms(r.watchDelivery.p99Ms)} (${r.delivered}/${r.expectedDeliveries})`],
  ];
  const header = `| apiserver row | ${results.map((r) => `keel-apiserver on ${r.system}`).join(' | ')} |`;
  const rule = `|---|${results.map(() => '---').join('|')}|`;
  return ['## apiserver (one-member store)', '', header, rule, ...lines.map(([label, f]) => `| ${label} | ${results.map(f).join(' | ')} |`), ''].join('\n');
}
