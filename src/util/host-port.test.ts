import assert from 'node:assert/strict';
import { isLoopback } from './host-port';

describe('isLoopback (the warning for plain-text clients beyond this machine)', () => {
  const table: Array<[string, boolean]> = [
    ['127.0.0.1:2379', true], ['127.1.2.3:2379', true], ['localhost:2379', true], ['[::1]:2379', true],
    ['0.0.0.0:2379', false], ['[::]:2379', false], ['10.0.0.5:2379', false], ['keel-0.keel-peer:2379', false],
  ];
  for (const [hostPort, loopback] of table) it(`${hostPort} → ${loopback}`, () => assert.equal(isLoopback(hostPort), loopback));
});
