import type { KubeObject } from './kube-object';

/** Kubernetes quantity suffixes: binary (Ki…Ei), decimal (k…E) and milli (m). */
const SUFFIX: Record<string, number> = {
  '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** What Kubernetes says of a quantity it cannot parse (resource.ErrFormatWrong). */
export const QUANTITY_FORMAT_WRONG = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/**
 * A resource quantity (`100m`, `1.5`, `128Mi`, `1e3`) as a number of units; CPU comes out in cores,
 * memory in bytes. Throws on anything else, naming it.
 */
export function parseQuantity(q: unknown): number {
  if (typeof q === 'number') return q;
  const m = typeof q === 'string' ? /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?)$/.exec(q.trim()) : null;
  if (!m) throw new Error(`${QUANTITY_FORMAT_WRONG}: ${JSON.stringify(q)}`);
  const base = Number(m[1]);
  return m[2] !== undefined ? base * 10 ** Number(m[2].slice(1)) : base * SUFFIX[m[3] ?? '']!;
}

/** What a pod asks of a node: the sums of its containers' requests (absent counts as 0). */
export interface PodRequests {
  cpu: number;
  memory: number;
}

export function podRequests(pod: KubeObject): PodRequests {
  let cpu = 0;
  let memory = 0;
  for (const c of pod.spec?.containers ?? []) {
    const r = c.resources?.requests ?? {};
    if (r.cpu !== undefined) cpu += parseQuantity(r.cpu);
    if (r.memory !== undefined) memory += parseQuantity(r.memory);
  }
  return { cpu, memory };
}
