import assert from 'node:assert/strict';
import { selects } from './label-selector';

describe('label selectors of controllers', () => {
  const labels = { app: 'web', tier: 'front' };
  const table: Array<[string, Parameters<typeof selects>[0], boolean]> = [
    ['matchLabels that hold', { matchLabels: { app: 'web' } }, true],
    ['matchLabels that do not', { matchLabels: { app: 'db' } }, false],
    ['In', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'back'] }] }, true],
    ['NotIn', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, false],
    ['Exists', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, true],
    ['DoesNotExist', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, false],
    ['an empty selector (matches nothing for a controller)', {}, false],
    ['no selector', undefined, false],
  ];
  for (const [what, selector, want] of table) it(what, () => assert.equal(selects(selector, labels), want));
});
