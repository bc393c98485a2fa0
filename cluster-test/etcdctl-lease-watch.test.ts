import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdctl } from './support/etcdctl';
import { ClusterProcesses, startCluster } from './support/member-process';

/** The real etcdctl's lease, watch, lock and elect commands against a three-member Keel cluster. */
describe('etcdctl lease, watch, lock and elect', function () {
  this.timeout(60_000);
  let dir: string;
  let cluster: ClusterProcesses;
  let all: string;
  const ctl = (args: string[], stopAfterMs?: number) => etcdctl(all, args, stopAfterMs ? { stopAfterMs } : {});
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-ctl-lease-'));
    cluster = await startCluster('keel', dir, 3, ['--heartbeat-interval', '50', '--election-timeout', '500']);
    all = cluster.endpoints.join(',');
  });
  after(async () => {
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('lease grant, put --lease, timetolive --keys, list, keep-alive --once, revoke', async () => {
    const grant = await ctl(['lease', 'grant', '60']);
    const m = /^lease ([0-9a-f]+) granted with TTL\(60s\)\n$/.exec(grant.stdout);
    assert.ok(m, grant.stdout + grant.stderr);
    const id = m[1]!;
    assert.equal((await ctl(['put', '--lease', id, 'leased', 'v'])).stdout, 'OK\n');
    assert.match((await ctl(['lease', 'timetolive', id, '--keys'])).stdout,
      new RegExp(`^lease ${id} granted with TTL\\(60s\\), remaining\\((59|60)s\\), attached keys\\(\\[leased\\]\\)\\n$`));
    assert.match((await ctl(['lease', 'list'])).stdout, new RegExp(`found \\d+ leases\\n(.*\\n)*${id}\\n`));
    assert.equal((await ctl(['lease', 'keep-alive', '--once', id])).stdout, `lease ${id} keepalived with TTL(60)\n`);
    assert.equal((await ctl(['lease', 'revoke', id])).stdout, `lease ${id} revoked\n`);
    assert.equal((await ctl(['get', 'leased'])).stdout, '');
    assert.equal((await ctl(['lease', 'timetolive', id])).stdout, `lease ${id} already expired\n`);
    const gone = await ctl(['lease', 'keep-alive', '--once', id]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /requested lease not found/);
  });

  it('watch --prefix --rev --prev-kv replays history in order', async () => {
    const first = JSON.parse((await ctl(['put', 'wp/a', '1', '-w', 'json'])).stdout) as { header: { revision: number } };
    await ctl(['put', 'wp/a', '2']);
    await ctl(['del', 'wp/a']);
    // etcdctl watch runs until stopped; it has printed the replay by then.
    const w = await ctl(['watch', '--prefix', '--prev-kv', `--rev=${first.header.revision}`, 'wp/'], 2000);
    assert.equal(w.stdout, 'PUT\nwp/a\n1\nPUT\nwp/a\n1\nwp/a\n2\nDELETE\nwp/a\n2\nwp/a\n\n');
  });

  it('lock runs a command while holding the lock', async () => {
    const r = await ctl(['lock', 'ctl-lock', 'echo', 'inside']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'inside\n');
  });

  it('elect makes a leader that elect -l observes', async () => {
    const campaign = ctl(['elect', 'ctl-election', 'candidate-1'], 3000);
    const observed = await ctl(['elect', '-l', 'ctl-election'], 2000);
    assert.match(observed.stdout, /^ctl-election\/[0-9a-f]+\ncandidate-1\n/);
    assert.match((await campaign).stdout, /^ctl-election\/[0-9a-f]+\ncandidate-1\n/);
  });
});
