import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { acceptFramedMessages, FramedMessages, messagesIn } from './framed-messages';

/** A server-streaming method whose messages are raw bytes, and the client that calls it. */
const identity = (b: Buffer) => b;
const SERVICE: grpc.ServiceDefinition = {
  Stream: {
    path: '/test.Framed/Stream', requestStream: false, responseStream: true,
    requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity,
  },
};
const Client = grpc.makeGenericClientConstructor(SERVICE, 'Framed');

/** Starts a server whose one method answers with `respond`, calls it, and returns what arrived. */
async function call(respond: (call: grpc.ServerWritableStream<Buffer, Buffer | FramedMessages>) => void): Promise<{ messages: string[]; status: grpc.StatusObject }> {
  const server = new grpc.Server();
  server.addService(SERVICE, { Stream: respond });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    const stream = (client as unknown as { Stream(req: Buffer): grpc.ClientReadableStream<Buffer> }).Stream(Buffer.alloc(0));
    const messages: string[] = [];
    stream.on('data', (m: Buffer) => messages.push(m.toString()));
    stream.on('error', () => { /* the status says it */ });
    const status = await new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
    return { messages, status };
  } finally {
    client.close();
    server.forceShutdown();
  }
}

const framed = (...ms: string[]) => FramedMessages.of(ms.map((m) => Buffer.from(m)));

describe('FramedMessages on a grpc-js server stream', () => {
  it('arrive as separate messages, in order with single ones, before the status', async () => {
    const { messages, status } = await call((c) => {
      acceptFramedMessages(c);
      c.write(Buffer.from('a'));
      c.write(framed('b', 'c', 'd'));
      c.write(Buffer.from('e'));
      c.write(framed('f', '', 'g'.repeat(100_000)));
      c.end();
    });
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(messages, ['a', 'b', 'c', 'd', 'e', 'f', '', 'g'.repeat(100_000)]);
  });

  it('send the response headers themselves when they are the first write', async () => {
    const { messages, status } = await call((c) => {
      acceptFramedMessages(c);
      c.write(framed('x', 'y'));
      c.end();
    });
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(messages, ['x', 'y']);
  });

  it('count as the responses they hold', () => {
    assert.equal(messagesIn(framed('a', 'b', 'c')), 3);
    assert.equal(messagesIn({ header: {} }), 1);
  });
});
