import { join } from 'node:path';

/** One machine of the local control-plane cluster, with the ports its processes listen on. */
export interface NodeLayout {
  name: string;
  role: 'control-plane' | 'worker';
  /** Keel member (control-plane nodes): client, peer and metrics ports. */
  keel?: { client: number; peer: number; metrics: number };
  /** keel-apiserver (control-plane nodes). */
  apiserver?: number;
  /** keel-kubelet's log and health port (every node runs a kubelet). */
  kubelet: number;
  dir: string;
}

/**
 * The stacked HA topology of `npm run cluster`: three control-plane nodes (a Keel member, an
 * apiserver, a scheduler, a controller-manager and a kubelet each, as RKE stacks them) and two
 * workers (a kubelet each). Node i's ports start at `base` + its offset and follow etcd's local
 * convention from the default base of 2379: cp1 2379, cp2 22379, cp3 32379, then the workers.
 */
const NODE_OFFSETS = [0, 20_000, 30_000, 40_000, 50_000];

export function clusterLayout(dataDir: string, base = 2379): NodeLayout[] {
  const names = ['cp1', 'cp2', 'cp3', 'worker1', 'worker2'];
  return names.map((name, i) => {
    const p = base + NODE_OFFSETS[i]!;
    const controlPlane = i < 3;
    return {
      name,
      role: controlPlane ? 'control-plane' : 'worker',
      ...(controlPlane ? { keel: { client: p, peer: p + 1, metrics: p + 2 }, apiserver: p + 3 } : {}),
      kubelet: p + 4,
      dir: join(dataDir, name),
    };
  });
}

/** The apiserver URLs in the order a component on `node` should try them: its own first. */
export function apiserversFor(layout: NodeLayout[], node: NodeLayout): string[] {
  const all = layout.filter((n) => n.apiserver !== undefined);
  const ordered = [...all.filter((n) => n === node), ...all.filter((n) => n !== node)];
  return ordered.map((n) => `http://127.0.0.1:${n.apiserver}`);
}
