import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdClient } from '../src/client/etcd-client';
import { eventually } from '../src/util/eventually';
import { distinctPorts, MemberProcess, startKeel, waitForLeader } from './support/member-process';
import { CertFiles, TestCa } from './support/test-ca';

describe('peer TLS (--peer-cert-file, --peer-key-file, --peer-trusted-ca-file, --peer-client-cert-auth)', function () {
  this.timeout(60_000);
  let dir: string;
  const members: MemberProcess[] = [];
  const clients: EtcdClient[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-peer-tls-'));
  });
  after(async () => {
    clients.forEach((c) => c.close());
    await Promise.all(members.map((m) => m.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  it('replicates between members with certificates from the trusted CA and shuts out one without', async () => {
    const ca = new TestCa(dir);
    const stranger = new TestCa(dir, 'other-ca');
    const certs: CertFiles[] = [ca.issue('m1', 'm1'), ca.issue('m2', 'm2'), stranger.issue('m3', 'm3')];
    const ports = await distinctPorts(3);
    const initialCluster = ports.map((p, i) => `m${i + 1}=https://127.0.0.1:${p.peer}`).join(',');
    // m3 trusts the real CA but holds a certificate the others do not trust.
    const started = await Promise.all(certs.map((c, i) => startKeel({
      name: `m${i + 1}`, baseDir: dir, clientPort: ports[i]!.client, peerPort: ports[i]!.peer, initialCluster, peerTls: true,
      extraArgs: ['--peer-cert-file', c.cert, '--peer-key-file', c.key, '--peer-trusted-ca-file', ca.cert, '--peer-client-cert-auth'],
    })));
    members.push(...started);
    await waitForLeader(started.slice(0, 2).map((m) => m.endpoint));

    const [c1, c2, c3] = started.map((m) => {
      const c = new EtcdClient(m.endpoint, { commandTimeoutMs: 2000 });
      clients.push(c);
      return c;
    });
    await c1!.put({ key: Buffer.from('over-tls'), value: Buffer.from('1') });
    const read = await c2!.range({ key: Buffer.from('over-tls') });
    assert.equal(read.kvs[0]?.value.toString(), '1', 'm2 reads what m1 wrote');
    await assert.rejects(c3!.put({ key: Buffer.from('from-m3'), value: Buffer.from('1') }), 'm3 cannot reach a leader');
    const status3 = await c3!.status();
    assert.equal(status3.leader, '0', 'm3 never learns of a leader');
    await eventually('m1 or m2 logs the refused peer', async () => {
      const logs = await Promise.all(started.slice(0, 2).map((m) => readFile(m.logFile, 'utf8')));
      return logs.some((l) => l.includes('rejected peer connection'));
    });
  });
});
