import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdClient } from '../src/client/etcd-client';
import { startKeel, type MemberProcess } from './support/member-process';

/** --max-concurrent-streams: each client connection learns the limit, and calls beyond it wait their turn. */
describe('keel --max-concurrent-streams', function () {
  this.timeout(30_000);
  let dir: string;
  let member: MemberProcess;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-streams-'));
    member = await startKeel({ baseDir: dir, extraArgs: ['--max-concurrent-streams', '2'] });
  });
  after(async () => {
    await member?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('advertises the limit in the HTTP/2 settings of every client connection', async () => {
    const session = connect(`http://${member.endpoint}`);
    try {
      const settings = await new Promise<{ maxConcurrentStreams?: number }>((resolve, reject) => {
        session.once('remoteSettings', resolve);
        session.once('error', reject);
      });
      assert.equal(settings.maxConcurrentStreams, 2);
    } finally {
      session.close();
    }
  });

  it('serves a third stream on one connection once one of two open ones ends', async () => {
    const c = new EtcdClient(member.endpoint);
    try {
      const open = () => {
        const s = c.watchStream();
        const created = new Promise<void>((resolve) => s.once('data', () => resolve()));
        s.write({ create_request: { key: Buffer.from('k') } });
        s.on('error', () => undefined);
        return { s, created };
      };
      const [first, second] = [open(), open()];
      await Promise.all([first.created, second.created]);
      const third = open();
      first.s.cancel();
      await third.created;
      second.s.cancel();
      third.s.cancel();
    } finally {
      c.close();
    }
  });
});
