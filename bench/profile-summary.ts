import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The parts of a V8 .cpuprofile this reads. */
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

/** Time V8 attributes to no JavaScript: the process waiting (idle), native code, the GC. */
const NOT_JS = new Set(['(idle)', '(program)', '(garbage collector)']);

/** Self time (ms) by function, busiest first, idle time left out. */
export function selfTimes(profile: CpuProfile): Array<{ fn: string; ms: number }> {
  const byNode = new Map<number, number>();
  profile.samples.forEach((id, i) => byNode.set(id, (byNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const byFn = new Map<string, number>();
  for (const n of profile.nodes) {
    const ms = byNode.get(n.id) ?? 0;
    if (ms === 0 || n.callFrame.functionName === '(idle)') continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const where = url.replace(/^.*?\/(node_modules\/(?:@[^/]+\/)?[^/]+|dist)\//, '$1/');
    const fn = NOT_JS.has(functionName) || url === '' ? functionName || '(anonymous)' : `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + ms);
  }
  return [...byFn].map(([fn, ms]) => ({ fn, ms })).sort((a, b) => b.ms - a.ms);
}

/** For each profile in `dir`: its busy time and the `top` functions by self time, as text. */
export function summarizeProfiles(dir: string, top = 15): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  return files.map((f) => {
    const times = selfTimes(JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile);
    const busy = times.reduce((sum, t) => sum + t.ms, 0);
    const lines = times.slice(0, top).map((t) => `  ${t.ms.toFixed(0).padStart(7)} ms ${((100 * t.ms) / busy).toFixed(1).padStart(5)} %  ${t.fn}`);
    return [`${join(dir, f)}: ${busy.toFixed(0)} ms busy`, ...lines].join('\n');
  }).join('\n\n');
}
