import { arch, cpus, totalmem } from 'node:os';
import type { Logger } from '../../util/logger';
import { apiPath, LEASES, NODES } from '../kube-client/api-path';
import { isAlreadyExists, isNotFound } from '../kube-client/kube-api-error';
import type { KubeClient } from '../kube-client/kube-client';
import type { KubeObject } from '../kube-object';
import { kubeMicroTime, kubeTime } from '../kube-time';

export const KUBELET_VERSION = 'v1.32.0-keel';
const LEASE_NAMESPACE = 'kube-node-lease';
const LEASE_DURATION_SECONDS = 40;

export interface NodeIdentity {
  name: string;
  /** `control-plane`, `etcd`, `worker`: each becomes a `node-role.kubernetes.io/<role>` label. */
  roles: string[];
  /** The port this kubelet serves container logs on. */
  port: number;
}

/**
 * Taints a node of each role carries, as Rancher's roles set them: control-plane nodes refuse
 * ordinary pods (NoSchedule), etcd nodes evict them (NoExecute, so nothing scheduled before the role
 * was set lingers on a store member). Workers carry none.
 */
const ROLE_TAINTS: Record<string, { key: string; value: string; effect: string }> = {
  'control-plane': { key: 'node-role.kubernetes.io/control-plane', value: 'true', effect: 'NoSchedule' },
  etcd: { key: 'node-role.kubernetes.io/etcd', value: 'true', effect: 'NoExecute' },
};


/** The Node a kubelet registers: labels, role taints, capacity of this machine, and a Ready status. */
export function nodeObject(id: NodeIdentity, simulated: boolean): KubeObject {
  const memoryKi = `${Math.floor(totalmem() / 1024)}Ki`;
  const resources = { cpu: String(cpus().length), memory: memoryKi, pods: '110', 'ephemeral-storage': '100Gi' };
  const labels: Record<string, string> = {
    'kubernetes.io/hostname': id.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': arch() === 'x64' ? 'amd64' : arch(),
    ...Object.fromEntries(id.roles.map((r) => [`node-role.kubernetes.io/${r}`, 'true'])),
  };
  const taints = id.roles.flatMap((r) => (ROLE_TAINTS[r] ? [ROLE_TAINTS[r]] : []));
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name: id.name, labels, ...(simulated ? { annotations: { 'kwok.x-k8s.io/node': 'fake' } } : {}) },
    spec: taints.length > 0 ? { taints } : {},
    status: {
      capacity: resources, allocatable: resources,
      conditions: conditions(),
      addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: id.name }],
      daemonEndpoints: { kubeletEndpoint: { Port: id.port } },
      nodeInfo: {
        kubeletVersion: KUBELET_VERSION, kubeProxyVersion: '', operatingSystem: 'linux', architecture: labels['kubernetes.io/arch'],
        containerRuntimeVersion: simulated ? 'simulated://0' : 'keel-process://1', osImage: 'Keel', kernelVersion: '', machineID: id.name, systemUUID: id.name, bootID: '',
      },
    },
  };
}

/**
 * The kubelet's node conditions with a fresh heartbeat. A condition keeps the lastTransitionTime it
 * has in `current` (the stored Node's) while its status stays; a status that differs, such as a
 * Ready the node lifecycle controller set Unknown, transitions now.
 */
function conditions(current: KubeObject[] = []): KubeObject[] {
  const now = kubeTime();
  const condition = (type: string, status: string, reason: string, message: string) => {
    const was = current.find((c) => c.type === type);
    return { type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: was?.status === status ? was.lastTransitionTime ?? now : now };
  };
  return [
    condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
    condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
    condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
    condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
  ];
}

/**
 * A node's liveness as the control plane sees it: registration (POST, or PATCH if the node
 * exists), the node Lease in kube-node-lease renewed by PUT every `leaseRenewMs`, and the status
 * with fresh heartbeats patched every `statusEveryMs`. Failures are logged and retried on the
 * next beat: a kubelet that cannot reach the apiservers keeps trying.
 */
export class NodeHeartbeat {
  private lease: KubeObject | undefined;
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly client: KubeClient,
    private readonly node: KubeObject,
    private readonly o: { leaseRenewMs: number; statusEveryMs: number },
    private readonly log: Logger,
  ) {}

  get name(): string {
    return this.node.metadata.name;
  }

  async register(): Promise<void> {
    for (let backoff = 100; ; backoff = Math.min(backoff * 2, 7000)) {
      try {
        await this.client.create(apiPath(NODES), this.node);
        this.log.info('registered node', { node: this.name });
        break;
      } catch (err) {
        if (isAlreadyExists(err)) {
          const { labels } = this.node.metadata;
          await this.client.patch(apiPath(NODES, { name: this.name }), { metadata: { labels }, spec: this.node.spec });
          await this.postStatus();
          this.log.info('node already registered; updated it', { node: this.name });
          break;
        }
        this.log.warn('could not register node; retrying', { node: this.name, error: (err as Error).message });
        await new Promise((r) => setTimeout(r, backoff));
      }
    }
    await this.renewLease();
    this.timers.push(setInterval(() => void this.renewLease(), this.o.leaseRenewMs));
    this.timers.push(setInterval(() => void this.postStatus(), this.o.statusEveryMs));
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
  }

  private async postStatus(): Promise<void> {
    try {
      const current = await this.client.get(apiPath(NODES, { name: this.name }));
      await this.client.patch(apiPath(NODES, { name: this.name, subresource: 'status' }), { status: { conditions: conditions(current.status?.conditions) } }, 'strategic');
    } catch (err) {
      this.log.warn('could not post node status', { node: this.name, error: (err as Error).message });
    }
  }

  private async renewLease(): Promise<void> {
    const path = apiPath(LEASES, { namespace: LEASE_NAMESPACE, name: this.name });
    try {
      if (this.lease === undefined) this.lease = await this.client.get(path).catch((err) => (isNotFound(err) ? undefined : Promise.reject(err)));
      const spec = { holderIdentity: this.name, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: kubeMicroTime() };
      this.lease = this.lease === undefined
        ? await this.client.create(apiPath(LEASES, { namespace: LEASE_NAMESPACE }), {
          apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.name, namespace: LEASE_NAMESPACE }, spec,
        })
        : await this.client.update(path, { ...this.lease, spec: { ...this.lease.spec, ...spec } });
    } catch (err) {
      this.lease = undefined; // read it again next time: a conflict means someone else wrote it
      this.log.warn('could not renew node lease', { node: this.name, error: (err as Error).message });
    }
  }
}
