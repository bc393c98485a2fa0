import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import type { WatchResponse__Output } from '../generated/etcdserverpb/WatchResponse';
import { InProcessCluster, startInProcessCluster } from '../cmd/in-process-member';
import { etcdPackage } from '../wire/etcd-package';

/** A watch stream on `key` that records how it ended, if it has. */
function openWatch(c: InProcessCluster, member: number, headers: Record<string, string>) {
  const stream = c.members[member]!.client.watchStream(headers);
  const state: { created: Promise<void>; ended: Promise<grpc.ServiceError>; endedWith?: grpc.ServiceError } = {} as never;
  state.created = new Promise((resolve) => {
    stream.on('data', (r: WatchResponse__Output) => {
      if (r.created) resolve();
    });
  });
  state.ended = new Promise((resolve) => {
    stream.on('error', (err: grpc.ServiceError) => {
      state.endedWith = err;
      resolve(err);
    });
  });
  stream.write({ create_request: { key: Buffer.from('k') } });
  return state;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 10));
}

describe('calls that require a leader (hasleader metadata)', function () {
  this.timeout(20_000);
  let c: InProcessCluster;
  beforeEach(async () => {
    c = await startInProcessCluster(3);
  });
  afterEach(async () => {
    await c.close();
  });

  it('ends a watch stream that asked for one once its member has gone three election timeouts without a leader', async () => {
    const leader = await c.leader();
    const follower = c.members.findIndex((m) => m !== leader);
    const requiring = openWatch(c, follower, { hasleader: 'true' });
    const plain = openWatch(c, follower, {});
    await Promise.all([requiring.created, plain.created]);
    c.network.isolate(c.members[follower]!.server.memberId);
    const err = await requiring.ended;
    assert.equal(err.code, grpc.status.UNAVAILABLE);
    assert.equal(err.details, 'etcdserver: no leader');
    assert.equal(c.members[follower]!.server.leader, 0n);
    assert.equal(plain.endedWith, undefined, 'a stream that did not ask for a leader stays open');
  });

  it('refuses a unary call or a new stream that asks for a leader while the member has none, and serves the rest', async () => {
    const leader = await c.leader();
    const follower = c.members.find((m) => m !== leader)!;
    c.network.isolate(follower.server.memberId);
    await until(() => follower.server.leader === 0n);
    const kv = new etcdPackage.KV(follower.endpoint, grpc.credentials.createInsecure());
    try {
      const range = (metadata: grpc.Metadata) => new Promise<unknown>((resolve, reject) => {
        kv.Range({ key: Buffer.from('k'), serializable: true }, metadata, (err, res) => (err ? reject(err) : resolve(res)));
      });
      const requiring = new grpc.Metadata();
      requiring.set('hasleader', 'true');
      await assert.rejects(range(requiring), (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE && err.details === 'etcdserver: no leader');
      await range(new grpc.Metadata()); // a serializable read needs no leader
    } finally {
      kv.close();
    }
    const refused = openWatch(c, c.members.indexOf(follower), { hasleader: 'true' });
    assert.equal((await refused.ended).details, 'etcdserver: no leader');
  });
});
