import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { EtcdClient } from '../src/client/etcd-client';
import { eventually } from '../src/util/eventually';
import { MemberProcess, startKeel } from './support/member-process';

const CHILD = join(__dirname, 'support', 'watch-child.js');
const EVENTS = 600;

describe('a watcher that stops reading', function () {
  this.timeout(60_000);
  let dir: string;
  let member: MemberProcess;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-slow-watch-'));
    member = await startKeel({ baseDir: dir });
  });
  after(async () => {
    await member.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('holds up neither writes nor a fast watcher, and gets every event in order once it reads again', async () => {
    const child = spawn(process.execPath, [CHILD, member.endpoint, 's', 't'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let last = '';
    createInterface({ input: child.stdout! }).on('line', (l) => (last = l));
    const client = new EtcdClient(member.endpoint);
    try {
      const fast = client.watchStream();
      let fastSeen = 0;
      let fastCreated = false;
      fast.on('data', (r: { created: boolean; events: unknown[] }) => {
        fastCreated ||= r.created;
        fastSeen += r.events.length;
      });
      fast.on('error', () => { /* the member stops at the end */ });
      fast.write({ create_request: { key: Buffer.from('s'), range_end: Buffer.from('t') } });
      await eventually('both watchers were created', () => fastCreated && last.startsWith('seen 0 '), 15_000);
      await client.put({ key: Buffer.from('s-first'), value: Buffer.from('x') });
      await eventually('both watchers saw the first write', () => fastSeen === 1 && last.startsWith('seen 1 '), 15_000);
      child.kill('SIGSTOP');
      // 64 KiB values: far more than HTTP/2 flow control lets through to a client that does not read.
      const value = Buffer.alloc(64 * 1024, 'v');
      for (let i = 0; i < EVENTS; i++) await client.put({ key: Buffer.from(`s${i % 10}`), value });
      await eventually('the fast watcher got every event while the other was stopped', () => fastSeen === EVENTS + 1, 15_000);
      child.kill('SIGCONT');
      await eventually('the stopped watcher caught up', () => last.startsWith(`seen ${EVENTS + 1} `), 30_000);
      assert.match(last, /ordered true/);
      fast.end();
    } finally {
      child.kill('SIGKILL');
      client.close();
    }
  });
});

