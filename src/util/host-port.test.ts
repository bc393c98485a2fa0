import assert from 'node:assert/strict';
import { hostPort, isLoopback } from './host-port';

describe('isLoopback (the warning for plain-text clients beyond this machine)', () => {
  const table: Array<[string, boolean]> = [
    ['127.0.0.1:2379', true], ['127.1.2.3:2379', true], ['localhost:2379', true], ['[::1]:2379', true],
    ['0.0.0.0:2379', false], ['[::]:2379', false], ['10.0.0.5:2379', false], ['keel-0.keel-peer:2379', false],
  ];
  for (const [hostPort, loopback] of table) it(`${hostPort} → ${loopback}`, () => assert.equal(isLoopback(hostPort), loopback));
});

describe('hostPort', () => {
  const table: Array<[string, string]> = [
    ['http://127.0.0.1:2379', '127.0.0.1:2379'], ['https://[::1]:2380', '[::1]:2380'],
    // WHATWG's URL leaves out a port that is the scheme's default; a member may still name it.
    ['http://10.0.0.9:80', '10.0.0.9:80'], ['https://10.0.0.9:443', '10.0.0.9:443'],
  ];
  for (const [url, expected] of table) it(`${url} → ${expected}`, () => assert.equal(hostPort(url), expected));
});
