import assert from 'node:assert/strict';
import { parseFieldSelector, parseLabelSelector } from './selectors';
import { ApiError } from './status-error';

const pod = (name: string, labels: Record<string, string>, nodeName?: string, phase = 'Running') => ({
  metadata: { name, namespace: 'default', labels }, spec: nodeName ? { nodeName } : {}, status: { phase },
});

describe('label selectors', () => {
  const objs = [pod('a', { app: 'web', tier: 'fe' }), pod('b', { app: 'db' }), pod('c', {})];
  const names = (sel: string) => objs.filter(parseLabelSelector(sel)).map((o) => o.metadata.name);

  it('selects by equality, inequality, set membership and existence', () => {
    assert.deepEqual(names('app=web'), ['a']);
    assert.deepEqual(names('app==db'), ['b']);
    assert.deepEqual(names('app!=web'), ['b', 'c']);
    assert.deepEqual(names('app in (web, db)'), ['a', 'b']);
    assert.deepEqual(names('app notin (web)'), ['b', 'c']);
    assert.deepEqual(names('tier'), ['a']);
    assert.deepEqual(names('!tier'), ['b', 'c']);
    assert.deepEqual(names('app in (web,db),!tier'), ['b']);
    assert.deepEqual(names(''), ['a', 'b', 'c']);
  });

  it('refuses what it cannot parse with a 400', () => {
    assert.throws(() => parseLabelSelector('app=(x'), (e: ApiError) => e.code === 400);
  });
});

describe('field selectors', () => {
  const objs = [pod('a', {}, 'n1'), pod('b', {}, 'n2', 'Succeeded'), pod('c', {})];
  const names = (sel: string) => objs.filter(parseFieldSelector(sel, 'Pod')).map((o) => o.metadata.name);

  it('selects on name, namespace, node and phase with =, == and !=', () => {
    assert.deepEqual(names('metadata.name=b'), ['b']);
    assert.deepEqual(names('metadata.namespace==default'), ['a', 'b', 'c']);
    assert.deepEqual(names('spec.nodeName=n1'), ['a']);
    assert.deepEqual(names('spec.nodeName='), ['c'], 'an absent field compares as empty');
    assert.deepEqual(names('spec.nodeName!=n1,status.phase!=Succeeded'), ['c']);
  });

  it('refuses a field the kind does not index with a 400', () => {
    assert.throws(() => parseFieldSelector('spec.nodeName=x', 'Deployment'), (e: ApiError) => e.code === 400 && /spec.nodeName/.test(e.message));
  });
});
