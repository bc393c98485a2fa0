import assert from 'node:assert/strict';
import { resolveIntOrPercent, sameTemplate, templateHash } from './deployment-controller';
import { tolerationSeconds } from './node-lifecycle-controller';

describe('rollout and eviction arithmetic', () => {
  it('resolves maxSurge up and maxUnavailable down from percentages, as Kubernetes does', () => {
    assert.equal(resolveIntOrPercent(undefined, 3, '25%', true), 1);
    assert.equal(resolveIntOrPercent(undefined, 3, '25%', false), 0);
    assert.equal(resolveIntOrPercent('50%', 5, '25%', false), 2);
    assert.equal(resolveIntOrPercent(2, 10, '25%', true), 2);
  });

  it('hashes a pod template stably, and differently for a different template', () => {
    const t = { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c', command: ['x'] }] } };
    assert.equal(templateHash(t), templateHash(structuredClone(t)));
    assert.notEqual(templateHash(t), templateHash({ ...t, spec: { containers: [{ name: 'c', command: ['y'] }] } }));
    assert.match(templateHash(t), /^[a-z0-9]{10}$/);
    // As `kubectl rollout undo` sends a template back: Go's zero values spelled out, keys reordered.
    const undone = { spec: { containers: [{ command: ['x'], resources: {}, name: 'c' }] }, metadata: { creationTimestamp: null, labels: { app: 'a' } } };
    assert.equal(templateHash(undone), templateHash(t));
  });

  it('finds a ReplicaSet by its template, its pod-template-hash label aside', () => {
    const t = { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'v1' }] } };
    const ofReplicaSet = { metadata: { labels: { app: 'a', 'pod-template-hash': 'abc' } }, spec: { containers: [{ image: 'v1', name: 'c' }] } };
    assert.ok(sameTemplate(ofReplicaSet, { ...t, metadata: { ...t.metadata, creationTimestamp: null } }));
    assert.ok(!sameTemplate(ofReplicaSet, { ...t, spec: { containers: [{ name: 'c', image: 'v2' }] } }));
  });

  it('gives pods the default toleration of an unreachable node unless they state their own', () => {
    const taint = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' };
    assert.equal(tolerationSeconds({ spec: {} }, taint, 300), 300);
    assert.equal(tolerationSeconds({ spec: { tolerations: [{ key: taint.key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 }] } }, taint, 300), 5);
    assert.equal(tolerationSeconds({ spec: { tolerations: [{ operator: 'Exists' }] } }, taint, 300), Infinity);
  });

  it('gives pods no time on a node with any other NoExecute taint unless they tolerate it, value and all', () => {
    const taint = { key: 'dedicated', value: 'db', effect: 'NoExecute' };
    assert.equal(tolerationSeconds({ spec: {} }, taint, 300), 0);
    assert.equal(tolerationSeconds({ spec: { tolerations: [{ key: 'dedicated', value: 'web', effect: 'NoExecute' }] } }, taint, 300), 0);
    assert.equal(tolerationSeconds({ spec: { tolerations: [{ key: 'dedicated', value: 'db', tolerationSeconds: 10 }] } }, taint, 300), 10);
    assert.equal(tolerationSeconds({ spec: { tolerations: [{ key: 'dedicated', operator: 'Exists' }] } }, taint, 300), Infinity);
  });
});
