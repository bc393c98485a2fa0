import { EtcdClient } from '../src/client/etcd-client';
import { leanWatchStream } from './lean-watch';
import { summarize, type LatencySummary } from './stats';
import { startTarget, type System } from './targets';

/** etcd's `benchmark watch-latency` shape: many watchers of one key, one writer putting to it. */
export interface WatchSettings {
  watchers: number;
  /** Watch streams (and connections) the watchers are spread over. */
  streams: number;
  /** Puts the writer makes, one after another (closed loop). */
  puts: number;
  /**
   * Puts made, and their events awaited, before the measured ones: a fresh member's JIT needs them,
   * and so does the bench's own, which would otherwise be warm for the second system only.
   */
  warmupPuts: number;
  /** Write each keel member's CPU profile here. */
  profileDir?: string;
}

export interface WatchResult {
  system: System;
  watchers: number;
  puts: number;
  /** Events received by all watchers together, per second of the run. */
  eventsPerSec: number;
  /** From just before a put was sent to a watcher's receipt of its event. */
  delay: LatencySummary;
  delivered: number;
  expected: number;
  /** CPU over the run, % of one core: the bench (writer and all watchers), and the members together. */
  benchCpuPct: number;
  serverCpuPct: number;
  /** Share of the run the bench's event loop was busy: near 1 means the bench, not the server, set the pace. */
  benchLoopBusy: number;
}

const KEY = Buffer.from('bench/watched');
const GIVE_UP_MS = 60_000;

/**
 * Per system: a fresh three-member cluster; `watchers` watchers of one key over `streams` streams
 * (spread over the members); one writer putting to the key `puts` times. Every event's delay is
 * measured from the send of its put; the run ends when every watcher has every event.
 */
export async function runWatchFanout(systems: readonly System[], s: WatchSettings, log: (line: string) => void): Promise<WatchResult[]> {
  const results: WatchResult[] = [];
  for (const system of systems) {
    const target = await startTarget(system, 3, s.profileDir);
    const writer = new EtcdClient(target.endpoints[await target.leaderIndex()]!);
    try {
      log(`${system}: ${s.watchers} watchers over ${s.streams} streams`);
      /** When each put was sent, by the version of the key it made less one. */
      const sentAt: number[] = [];
      const delays: number[] = [];
      let delivered = 0;
      const streams = Array.from({ length: s.streams }, (_, i) => leanWatchStream(target.endpoints[i % target.endpoints.length]!));
      let created = 0;
      for (const stream of streams) {
        stream.on('data', (res) => {
          if (res.created) created++;
          for (const version of res.versions) {
            delivered++;
            delays.push(performance.now() - sentAt[version - 1]!);
          }
        });
        stream.on('error', () => undefined);
      }
      for (let i = 0; i < s.watchers; i++) streams[i % streams.length]!.write({ create_request: { key: KEY } });
      while (created < s.watchers) await new Promise((r) => setTimeout(r, 10));

      /** Makes `puts` puts and waits for their events; returns how many of those arrived. */
      const putAndWait = async (puts: number): Promise<number> => {
        const before = delivered;
        for (let i = 0; i < puts; i++) {
          sentAt.push(performance.now());
          await writer.put({ key: KEY, value: Buffer.from(String(sentAt.length)) });
        }
        const giveUp = performance.now() + GIVE_UP_MS;
        while (delivered - before < s.watchers * puts && performance.now() < giveUp) await new Promise((r) => setTimeout(r, 5));
        return delivered - before;
      };
      log(`${system}: ${s.warmupPuts} puts, unmeasured`);
      await putAndWait(s.warmupPuts);
      delays.length = 0;

      log(`${system}: ${s.puts} puts`);
      const started = performance.now();
      const cpuBefore = process.cpuUsage();
      const serverCpuBeforeMs = target.serverCpuMs();
      const loopBefore = performance.eventLoopUtilization();
      const arrived = await putAndWait(s.puts);
      const expected = s.watchers * s.puts;
      const elapsedMs = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      const serverCpuMs = target.serverCpuMs() - serverCpuBeforeMs;
      const benchLoopBusy = performance.eventLoopUtilization(loopBefore).utilization;
      for (const stream of streams) stream.cancel();
      results.push({
        system, watchers: s.watchers, puts: s.puts, eventsPerSec: (arrived * 1000) / elapsedMs, delay: summarize(delays), delivered: arrived, expected,
        benchCpuPct: ((cpu.user + cpu.system) / 1000 / elapsedMs) * 100, serverCpuPct: (serverCpuMs / elapsedMs) * 100, benchLoopBusy,
      });
    } finally {
      writer.close();
      await target.stop();
    }
  }
  return results;
}

/** A markdown table, one column per system. */
export function formatWatchTable(results: WatchResult[]): string {
  const first = results[0];
  if (first === undefined) return '';
  const ms = (v: number) => v.toFixed(1);
  const lines: Array<[string, (r: WatchResult) => string]> = [
    ['events delivered/s', (r) => r.eventsPerSec.toFixed(0)],
    ['put sent → event received p50 / p99 ms', (r) => `${ms(r.delay.p50Ms)} / ${ms(r.delay.p99Ms)}`],
    ['events delivered / expected', (r) => `${r.delivered} / ${r.expected}`],
    ['bench CPU % / event loop busy', (r) => `${r.benchCpuPct.toFixed(0)} / ${r.benchLoopBusy.toFixed(2)}`],
    ['server CPU % (three members)', (r) => r.serverCpuPct.toFixed(0)],
  ];
  const header = `| watch row | ${results.map((r) => r.system).join(' | ')} |`;
  const rule = `|---|${results.map(() => '---').join('|')}|`;
  return [`## watch fan-out (${first.watchers} watchers of one key, 1 writer, ${first.puts} puts, three members)`, '', header, rule,
    ...lines.map(([label, f]) => `| ${label} | ${results.map(f).join(' | ')} |`), ''].join('\n');
}
