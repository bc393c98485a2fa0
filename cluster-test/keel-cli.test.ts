import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdClient } from '../src/client/etcd-client';
import { KEEL_BIN, startKeel } from './support/member-process';

/** Runs keel to completion (it must exit by itself: these are all refusals to start). */
function runKeel(args: string[]): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [KEEL_BIN, ...args], { timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

describe('keel command line', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-cli-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('prints its version', async () => {
    const r = await runKeel(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^keel 3\.5\.\d+/);
  });

  const badFlags: Array<{ args: string[]; message: RegExp }> = [
    { args: ['--bogus'], message: /unknown option '--bogus'/ },
    { args: ['--heartbeat-interval', 'fast'], message: /"fast" is not a positive integer/ },
    { args: ['--heartbeat-interval', '100', '--election-timeout', '200'], message: /--election-timeout must be at least 5 times --heartbeat-interval/ },
    { args: ['--listen-client-urls', 'ftp://127.0.0.1:2379'], message: /URL scheme must be http or https/ },
    { args: ['--listen-client-urls', 'http://127.0.0.1'], message: /URL address does not have the form "host:port": http:\/\/127.0.0.1/ },
    { args: ['--listen-client-urls', 'http://127.0.0.1:2379/v3'], message: /URL must not contain a path: http:\/\/127.0.0.1:2379\/v3/ },
    { args: ['--initial-cluster-state', 'maybe'], message: /Allowed choices are new, existing/ },
    { args: ['--log-level', 'loud'], message: /Allowed choices are debug, info, warn, error/ },
  ];
  for (const c of badFlags) {
    it(`refuses ${c.args.join(' ')} with exit code 2`, async () => {
      const r = await runKeel(c.args);
      assert.equal(r.code, 2);
      assert.match(r.stderr, c.message);
    });
  }

  it('refuses an initial cluster that does not name this member', async () => {
    // Port 0: the peer port is bound before the flags are checked, and 2380 may be someone else's.
    const r = await runKeel(['--data-dir', join(dir, 'a'), '--initial-cluster', 'other=http://127.0.0.1:2380', '--listen-peer-urls', 'http://127.0.0.1:0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /couldn't find local name "default" in the initial cluster configuration/);
  });

  it('refuses a data dir that is a file', async () => {
    const file = join(dir, 'not-a-dir');
    await writeFile(file, 'x');
    const r = await runKeel(['--data-dir', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot open data dir .*not-a-dir/);
  });

  it('refuses a data dir another member is using, and one of another member', async () => {
    const running = await startKeel({ baseDir: dir, name: 'owner' });
    try {
      const busy = await runKeel(['--name', 'owner', '--data-dir', running.dataDir, '--listen-client-urls', 'http://127.0.0.1:0']);
      assert.equal(busy.code, 1);
      assert.match(busy.stderr, /cannot open data dir .*lock/i);
    } finally {
      await running.stop();
    }
    const other = await runKeel(['--name', 'intruder', '--data-dir', running.dataDir,
      '--initial-cluster', 'intruder=http://127.0.0.1:2380', '--listen-client-urls', 'http://127.0.0.1:0', '--listen-peer-urls', 'http://127.0.0.1:0']);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /data dir belongs to member "owner", not "intruder"/);
  });

  // grpc-js forgets a server's sessions when channelz is off, and its forced shutdown then left a
  // client's open watch stream running: the member never exited (found by the chaos runner).
  it('exits on SIGTERM while a client holds a watch stream open', async () => {
    const running = await startKeel({ baseDir: dir, name: 'watched' });
    const client = new EtcdClient(running.endpoint);
    try {
      const stream = client.watchStream();
      stream.on('error', () => { /* cut by the member stopping */ });
      const created = new Promise((resolve) => stream.on('data', (r: { created: boolean }) => r.created && resolve(undefined)));
      stream.write({ create_request: { key: Buffer.from('k') } });
      await created;
      const exitCode = new Promise<number | null>((resolve) => running.process.once('exit', (code) => resolve(code)));
      running.process.kill('SIGTERM');
      const gaveUp = new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 15_000).unref());
      assert.equal(await Promise.race([exitCode, gaveUp]), 0);
    } finally {
      client.close();
      await running.kill9();
    }
  });
});
