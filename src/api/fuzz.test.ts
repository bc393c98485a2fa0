import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { InProcessCluster, startInProcessCluster } from '../cmd/in-process-member';
import { SeededRand } from '../util/rand';
import { etcdPackage } from '../wire/etcd-package';
import { messageType } from '../wire/etcd-types';
import { callRaw, fuzzedBody, requestTypeName } from './testing/fuzz-bodies';

/** Requests per method; enough for every mutation kind several times over. */
const PER_METHOD = 40;
const SEED = 20261123;

/**
 * Seeded, so a failure replays. It found a LeaseGrant with a negative ID that stopped every member
 * (lease-service.test.ts keeps that case).
 */
describe('hostile input: every gRPC method fuzzed with random and damaged messages', function () {
  this.timeout(120_000);
  let c: InProcessCluster;
  before(async () => {
    c = await startInProcessCluster(3);
    await (await c.leader()).client.put({ key: Buffer.from('sentinel'), value: Buffer.from('kept') });
  });
  after(() => c.close());

  const services = (Object.entries(etcdPackage) as Array<[string, { service?: grpc.ServiceDefinition }]>)
    .flatMap(([name, c]) => (c.service === undefined ? [] : [[name, c.service] as const]));
  for (const [service, definition] of services) {
    it(`${service}: every call ends, and the members keep serving`, async () => {
      const rand = new SeededRand(SEED + service.length);
      const members = c.members;
      const client = new grpc.Client(members[0]!.endpoint, grpc.credentials.createInsecure());
      let inputs = 0;
      try {
        for (const method of Object.values(definition)) {
          const type = messageType(method.path.includes('.Watch/') ? 'etcdserverpb.WatchRequest' : `etcdserverpb.${requestTypeName(method)}`);
          for (let i = 0; i < PER_METHOD; i++, inputs++) await callRaw(client, method, fuzzedBody(type, rand));
        }
      } finally {
        client.close();
      }
      console.log(`      ${inputs} inputs to ${Object.keys(definition).length} methods`);
      for (const m of members) {
        const status = await m.client.status();
        assert.ok(BigInt(status.header!.revision) >= 2n, `${m.endpoint} answers Status`);
      }
    });
  }

  it('leaves the members in agreement: the same keys at the same revision everywhere', async () => {
    const leader = await c.leader();
    const { header } = await leader.client.range({ key: Buffer.from('sentinel') });
    const hashes = await Promise.all(c.members.map(async (m) => {
      // A member may still be applying the last fuzzed writes: wait until it has the leader's revision.
      for (;;) {
        const r = await m.client.range({ key: Buffer.from('sentinel'), serializable: true });
        if (BigInt(r.header!.revision) >= BigInt(header!.revision)) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return (await m.client.hashKV(Number(header!.revision))).hash;
    }));
    assert.equal(new Set(hashes).size, 1, `members differ: ${hashes.join(', ')}`);
  });
});
