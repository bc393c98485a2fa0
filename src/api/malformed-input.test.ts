import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { InProcessMember, startInProcessMember } from '../cmd/in-process-member';

/** Sends raw bytes as a request body, bypassing the client's own encoding. */
function rawCall(endpoint: string, path: string, body: Buffer): Promise<grpc.ServiceError | undefined> {
  const client = new grpc.Client(endpoint, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, body, (err) => {
      client.close();
      resolve(err ?? undefined);
    });
  });
}

describe('malformed requests', () => {
  let m: InProcessMember;
  before(async () => {
    m = await startInProcessMember();
    await m.client.put({ key: Buffer.from('keep'), value: Buffer.from('me') });
  });
  after(() => m.close());

  // Bytes that cannot decode as any message. (protobufjs reads a field by its number whatever
  // the wire type says, so a wrong wire type alone can decode into a valid request.)
  const garbage: Array<[string, Buffer]> = [
    ['a truncated varint', Buffer.from([0x08, 0xff])],
    ['a length beyond the message', Buffer.from([0x0a, 0x7f, 0x61])],
    ['a ten-byte varint overflow', Buffer.from([0x08, ...Array<number>(11).fill(0xff)])],
  ];
  for (const method of ['Put', 'Range', 'DeleteRange', 'Txn', 'Compact']) {
    for (const [name, body] of garbage) {
      it(`${method} with ${name} fails cleanly`, async () => {
        const err = await rawCall(m.endpoint, `/etcdserverpb.KV/${method}`, body);
        assert.equal(err?.code, grpc.status.INTERNAL, `garbage got ${err?.code}: ${err?.details}`);
      });
    }
  }

  it('leaves the member serving and the data unchanged', async () => {
    const r = await m.client.range({ key: Buffer.from(''), range_end: Buffer.from([0]) }).catch(() => undefined);
    assert.equal(r, undefined, 'an empty key is refused');
    const all = await m.client.range({ key: Buffer.from([0]), range_end: Buffer.from([0]) });
    assert.deepEqual(all.kvs.map((kv) => `${kv.key}=${kv.value}`), ['keep=me']);
    assert.equal(all.header?.revision, '2');
  });
});
