import assert from 'node:assert/strict';
import { applyPatch, jsonPatch, mergePatch, strategicMergePatch } from './patch';
import { ApiError } from './status-error';

describe('patches', () => {
  it('merge patch merges objects, deletes on null and replaces lists (RFC 7386)', () => {
    assert.deepEqual(
      mergePatch({ metadata: { labels: { a: '1', b: '2' } }, list: [1, 2] }, { metadata: { labels: { b: null, c: '3' } }, list: [3] }),
      { metadata: { labels: { a: '1', c: '3' } }, list: [3] },
    );
  });

  it('JSON patch applies every operation, and a failed test leaves the document untouched', () => {
    const doc = { spec: { replicas: 1, list: ['a'] } };
    assert.deepEqual(jsonPatch(doc, [
      { op: 'replace', path: '/spec/replicas', value: 3 },
      { op: 'add', path: '/spec/list/-', value: 'b' },
      { op: 'copy', from: '/spec/replicas', path: '/spec/copy' },
      { op: 'move', from: '/spec/copy', path: '/spec/moved' },
      { op: 'remove', path: '/spec/list/0' },
      { op: 'test', path: '/spec/list', value: ['b'] },
    ]), { spec: { replicas: 3, list: ['b'], moved: 3 } });
    assert.throws(() => jsonPatch(doc, [{ op: 'replace', path: '/spec/replicas', value: 9 }, { op: 'test', path: '/spec/replicas', value: 1 }]),
      (e: ApiError) => e.code === 422);
    assert.deepEqual(doc, { spec: { replicas: 1, list: ['a'] } });
  });

  it('strategic merge patch merges containers by name and honours $patch and list directives', () => {
    const pod = { spec: { containers: [{ name: 'a', image: 'x:1' }, { name: 'b', image: 'y:1' }], finalizers: ['f1', 'f2'] } };
    assert.deepEqual(strategicMergePatch(pod, {
      spec: {
        '$setElementOrder/containers': [{ name: 'a' }],
        containers: [{ name: 'a', image: 'x:2' }, { name: 'b', $patch: 'delete' }, { name: 'c', image: 'z:1' }],
        '$deleteFromPrimitiveList/finalizers': ['f1'],
      },
    }), { spec: { containers: [{ name: 'a', image: 'x:2' }, { name: 'c', image: 'z:1' }], finalizers: ['f2'] } });
    // cordon / uncordon as kubectl sends them
    assert.deepEqual(strategicMergePatch({ spec: {} }, { spec: { unschedulable: true } }), { spec: { unschedulable: true } });
    assert.deepEqual(strategicMergePatch({ spec: { unschedulable: true } }, { spec: { unschedulable: null } }), { spec: {} });
    assert.deepEqual(strategicMergePatch({ spec: { a: 1, b: 2 } }, { spec: { $patch: 'replace', c: 3 } }), { spec: { c: 3 } });
  });

  it('strategic merge patch keys each list as the Go types do: taints replaced whole, ports by where they are', () => {
    // kubectl taint nodes n1 b:NoSchedule- sends the taints left.
    const node = { spec: { taints: [{ key: 'a', effect: 'NoSchedule' }, { key: 'b', effect: 'NoSchedule' }] }, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] } };
    assert.deepEqual((strategicMergePatch(node, { spec: { taints: [{ key: 'a', effect: 'NoSchedule' }] } }) as typeof node).spec, { taints: [{ key: 'a', effect: 'NoSchedule' }] });
    assert.deepEqual((strategicMergePatch(node, { status: { addresses: [{ type: 'InternalIP', address: '10.0.0.2' }] } }) as typeof node).status.addresses,
      [{ type: 'InternalIP', address: '10.0.0.2' }]);
    // kubectl apply of a Service whose targetPort changed.
    const service = { spec: { ports: [{ port: 80, targetPort: 8080 }] } };
    assert.deepEqual(strategicMergePatch(service, { spec: { '$setElementOrder/ports': [{ port: 80 }], ports: [{ port: 80, targetPort: 9090 }] } }),
      { spec: { ports: [{ port: 80, targetPort: 9090 }] } });
    const deployment = { spec: { template: { spec: { containers: [{ name: 'c', ports: [{ containerPort: 80, name: 'http' }] }] } } } };
    assert.deepEqual(strategicMergePatch(deployment, { spec: { template: { spec: { containers: [{ name: 'c', ports: [{ containerPort: 80, name: 'web' }] }] } } } }),
      { spec: { template: { spec: { containers: [{ name: 'c', ports: [{ containerPort: 80, name: 'web' }] }] } } } });
  });

  it('picks the patch by Content-Type and refuses others with a 415', () => {
    assert.deepEqual(applyPatch('application/merge-patch+json; charset=utf-8', { a: [1] }, { a: [2] }), { a: [2] });
    assert.throws(() => applyPatch('application/apply-patch+yaml', {}, {}), (e: ApiError) => e.code === 415);
  });
});
