import assert from 'node:assert/strict';
import { AddressInfo } from 'node:net';
import { Server } from 'node:http';
import { InProcessMember, startInProcessMember } from '../cmd/in-process-member';
import { eventually } from '../util/eventually';
import { startHttpServer } from './http-server';
import { silentLogger } from '../util/logger';

/** The value of one sample in Prometheus text format (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (want.every((l) => line.includes(l))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

describe('metrics over HTTP (/metrics)', function () {
  this.timeout(30_000);
  let m: InProcessMember;
  let http: Server[];
  afterEach(async () => {
    for (const h of http) h.close();
    await m.close();
  });

  it('count RPCs by method and code, messages both ways, and the server gauges, as etcd names them', async () => {
    m = await startInProcessMember({ quotaBackendBytes: 5 * 1024 * 1024 });
    await eventually('a leader', () => m.server.leader !== 0n);
    http = await startHttpServer(m.server, m.registry, ['127.0.0.1:0'], silentLogger);
    const url = `http://127.0.0.1:${(http[0]!.address() as AddressInfo).port}/metrics`;
    const scrape = async () => (await fetch(url)).text();
    const put = { grpc_service: 'etcdserverpb.KV', grpc_method: 'Put', grpc_type: 'unary' };

    const before = await scrape();
    for (let i = 0; i < 5; i++) await m.client.put({ key: Buffer.from(`k${i}`), value: Buffer.from('v') });
    await assert.rejects(m.client.put({ key: Buffer.alloc(0), value: Buffer.from('v') }));
    // Watch responses of one turn go out together (FramedMessages); each still counts.
    const WATCHERS = 20;
    const watch = m.client.watchStream();
    let responses = 0;
    watch.on('data', () => responses++);
    for (let i = 0; i < WATCHERS; i++) watch.write({ create_request: { key: Buffer.from('k0') } });
    await eventually('every watcher created', () => responses === WATCHERS);
    await m.client.put({ key: Buffer.from('k0'), value: Buffer.from('v2') });
    await eventually('every watcher told of the put', () => responses === 2 * WATCHERS);
    // A watch stream ends when its client cancels it (a half-close leaves it open, as in etcd).
    watch.on('error', () => { /* the cancellation */ });
    watch.cancel();
    await eventually('the watch stream handled', async () =>
      sample(await scrape(), 'grpc_server_handled_total', { grpc_method: 'Watch', grpc_code: 'Canceled' }) === 1);
    const after = await scrape();

    const delta = (name: string, labels: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
    // Six good puts (five, then one to the watched key) and one refused.
    assert.equal(delta('grpc_server_started_total', put), 7);
    assert.equal(delta('grpc_server_handled_total', { ...put, grpc_code: 'OK' }), 6);
    assert.equal(delta('grpc_server_handled_total', { ...put, grpc_code: 'InvalidArgument' }), 1);
    assert.equal(delta('grpc_server_msg_received_total', put), 7);
    assert.equal(delta('grpc_server_msg_sent_total', put), 6);
    const watchLabels = { grpc_method: 'Watch', grpc_type: 'bidi_stream' };
    assert.equal(delta('grpc_server_msg_received_total', watchLabels), WATCHERS);
    assert.equal(delta('grpc_server_msg_sent_total', watchLabels), 2 * WATCHERS);
    assert.ok(delta('etcd_server_proposals_applied_total', {}) >= 5);
    assert.ok(sample(after, 'etcd_disk_backend_commit_duration_seconds_count', {}) >= 5);
    assert.ok(sample(after, 'etcd_disk_wal_fsync_duration_seconds_count', {}) >= 5);
    assert.equal(sample(after, 'etcd_server_quota_backend_bytes', {}), 5 * 1024 * 1024);
    assert.ok(sample(after, 'etcd_mvcc_db_total_size_in_bytes', {}) > 0);
    const inUse = sample(after, 'etcd_mvcc_db_total_size_in_use_in_bytes', {});
    assert.ok(inUse > 0 && inUse <= sample(after, 'etcd_mvcc_db_total_size_in_bytes', {}));
    assert.equal(sample(after, 'etcd_server_proposals_pending', {}), 0);
  });
});
