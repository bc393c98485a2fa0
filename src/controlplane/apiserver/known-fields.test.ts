import assert from 'node:assert/strict';
import { dropFields, unknownFields } from './known-fields';

describe('known fields (strict decoding)', () => {
  const pod = () => ({
    apiVersion: 'v1', kind: 'Pod', typo: 1,
    metadata: { name: 'p', labels: { any: 'thing' }, nmae: 'x' },
    spec: { containers: [{ name: 'a', image: 'i', imagee: 'j', ports: [{ containerPort: 80, hostport: 1 }] }], nodeSelector: { free: 'form' } },
    status: { anything: 'goes' },
  });

  it('names every field a kind does not have, with its path, and nothing it has', () => {
    assert.deepEqual(unknownFields(pod()), ['typo', 'metadata.nmae', 'spec.containers[0].imagee', 'spec.containers[0].ports[0].hostport']);
    assert.deepEqual(unknownFields({ kind: 'Deployment', spec: { replicas: 1, template: { spec: { containers: [{ name: 'a', imagee: 'x' }] } } } }),
      ['spec.template.spec.containers[0].imagee']);
    assert.deepEqual(unknownFields({ kind: 'Widget', anything: 1 }), [], 'kinds without a shape are not checked');
  });

  it('drops them as decoding into the Go types would', () => {
    const p = pod();
    dropFields(p, unknownFields(p));
    assert.deepEqual(unknownFields(p), []);
    assert.deepEqual(p.spec.containers[0], { name: 'a', image: 'i', ports: [{ containerPort: 80 }] });
  });
});
