import assert from 'node:assert/strict';
import { score, tolerates, unschedulableMessage, whyNotFit, type NodeUsage } from './node-fit';

const ready = { conditions: [{ type: 'Ready', status: 'True' }], allocatable: { cpu: '2', memory: '4Gi', pods: '110' } };
const node = (extra: Record<string, unknown> = {}, status: Record<string, unknown> = ready) => ({ metadata: { name: 'n', labels: { disk: 'ssd' } }, spec: extra, status });
const pod = (spec: Record<string, unknown> = {}) => ({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c', resources: { requests: { cpu: '500m', memory: '1Gi' } } }], ...spec } });
const idle: NodeUsage = { cpu: 0, memory: 0, pods: 0 };
const CP_TAINT = { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] };

describe('scheduler filters', () => {
  const table: Array<[string, object, object, NodeUsage, string | undefined]> = [
    ['fits a ready node with room', pod(), node(), idle, undefined],
    ['refuses a node that is not Ready', pod(), node({}, { conditions: [{ type: 'Ready', status: 'Unknown' }] }), idle, 'node(s) were not ready'],
    ['refuses a cordoned node', pod(), node({ unschedulable: true }), idle, 'node(s) were unschedulable'],
    ['lets a pod that tolerates it onto a cordoned node', pod({ tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists' }] }), node({ unschedulable: true }), idle, undefined],
    ['follows nodeSelector', pod({ nodeSelector: { disk: 'hdd' } }), node(), idle, "node(s) didn't match Pod's node affinity/selector"],
    ['keeps ordinary pods off a control-plane node', pod(), node(CP_TAINT), idle, 'node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }'],
    ['lets a tolerating pod onto it', pod({ tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }] }), node(CP_TAINT), idle, undefined],
    ['ignores PreferNoSchedule', pod(), node({ taints: [{ key: 'x', effect: 'PreferNoSchedule' }] }), idle, undefined],
    ['counts cpu already requested', pod(), node(), { cpu: 1.75, memory: 0, pods: 3 }, 'Insufficient cpu'],
    ['counts memory already requested', pod(), node(), { cpu: 0, memory: 3.5 * 2 ** 30, pods: 3 }, 'Insufficient memory'],
    ['counts pods', pod(), node(), { cpu: 0, memory: 0, pods: 110 }, 'Too many pods'],
  ];
  for (const [what, p, n, usage, want] of table) it(what, () => assert.equal(whyNotFit(p, n, usage), want));

  it('matches tolerations as Kubernetes does', () => {
    const t = { key: 'k', value: 'v', effect: 'NoExecute' };
    assert.equal(tolerates([{ operator: 'Exists' }], t), true);
    assert.equal(tolerates([{ key: 'k', value: 'v' }], t), true);
    assert.equal(tolerates([{ key: 'k', value: 'w' }], t), false);
    assert.equal(tolerates([{ key: 'k', operator: 'Exists', effect: 'NoSchedule' }], t), false);
  });

  it('prefers the node with fewer pods, then the one with more room', () => {
    assert.ok(score(pod(), node(), { cpu: 0, memory: 0, pods: 1 }) > score(pod(), node(), { cpu: 0, memory: 0, pods: 2 }));
    assert.ok(score(pod(), node(), { cpu: 0.5, memory: 0, pods: 1 }) > score(pod(), node(), { cpu: 1, memory: 0, pods: 1 }));
  });

  it('words the FailedScheduling message as the scheduler does', () => {
    assert.equal(unschedulableMessage(3, ['Insufficient cpu', 'node(s) were unschedulable', 'Insufficient cpu']),
      '0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu.');
  });
});
