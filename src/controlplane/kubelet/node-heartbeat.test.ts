import assert from 'node:assert/strict';
import { nodeObject } from './node-heartbeat';

describe('the Node a kubelet registers', () => {
  it('labels each role and taints control-plane (NoSchedule) and etcd (NoExecute) nodes, as Rancher\'s roles do', () => {
    const cp = nodeObject({ name: 'cp1', roles: ['control-plane', 'etcd'], port: 10250 }, false);
    assert.equal(cp.metadata.labels['node-role.kubernetes.io/control-plane'], 'true');
    assert.equal(cp.metadata.labels['node-role.kubernetes.io/etcd'], 'true');
    assert.deepEqual(cp.spec.taints.map((t: { key: string; effect: string }) => `${t.key}:${t.effect}`),
      ['node-role.kubernetes.io/control-plane:NoSchedule', 'node-role.kubernetes.io/etcd:NoExecute']);
    const worker = nodeObject({ name: 'w1', roles: ['worker'], port: 10250 }, false);
    assert.equal(worker.spec.taints, undefined);
    assert.equal(worker.metadata.labels['kubernetes.io/hostname'], 'w1');
  });

  it('reports this machine\'s capacity, its log port, and Ready', () => {
    const n = nodeObject({ name: 'w1', roles: [], port: 12345 }, false);
    assert.ok(Number(n.status.capacity.cpu) >= 1);
    assert.match(n.status.capacity.memory, /^\d+Ki$/);
    assert.equal(n.status.daemonEndpoints.kubeletEndpoint.Port, 12345);
    assert.equal(n.status.conditions.find((c: { type: string }) => c.type === 'Ready').reason, 'KubeletReady');
  });
});
