import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import type { Message } from '../raft/types';
import { silentLogger } from '../util/logger';
import { PeerClientConstructor } from './peer-service';
import { GrpcPeerTransport } from './grpc-peer-transport';
import type { TransportReceiver } from './transport';

const CLUSTER = 0xc1n;
const SENDER = 1n;
const SELF = 2n;

const snapshotMessage: Message = {
  type: 'MsgSnap', to: SELF, from: SENDER, term: 3, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0,
  snapshot: { metadata: { index: 10, term: 3, confState: { voters: [SENDER, SELF], learners: [] } }, data: new Uint8Array() },
};

/** Streams a snapshot by hand: the head declares `declared` bytes, then `sent` bytes follow. */
function sendSnapshot(port: number, declared: number, sent: Buffer): Promise<grpc.ServiceError | null> {
  const client = new PeerClientConstructor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('x-keel-cluster-id', CLUSTER.toString(16));
  metadata.set('x-keel-member-id', SENDER.toString(16));
  return new Promise((resolve) => {
    const call = client.Snapshot(metadata, (err) => {
      client.close();
      resolve(err);
    });
    call.write({ message: snapshotMessage, data: new Uint8Array(), totalBytes: declared });
    call.write({ data: sent });
    call.end();
  });
}

describe('GrpcPeerTransport snapshots', () => {
  let transport: GrpcPeerTransport;
  const received: Message[] = [];
  before(async () => {
    transport = await GrpcPeerTransport.listen([{ hostPort: '127.0.0.1:0' }], silentLogger);
    transport.setPeers(SELF, CLUSTER, []);
    transport.attach({ receive: (m: Message) => received.push(m), isRemoved: () => false } as unknown as TransportReceiver);
  });
  after(() => transport.close());

  it('hands a whole snapshot to Raft', async () => {
    received.length = 0;
    assert.equal(await sendSnapshot(transport.ports[0]!, 5, Buffer.from('state')), null);
    assert.deepEqual(received.map((m) => Buffer.from(m.snapshot!.data).toString()), ['state']);
  });

  // A stream that ends early (its connection broke) once reached Raft, and the member crashed
  // installing the partial state (chaos seed 200).
  it('drops a snapshot that is shorter than its head declared, and tells the sender', async () => {
    received.length = 0;
    const err = await sendSnapshot(transport.ports[0]!, 6_288_931 + 100, Buffer.alloc(1000));
    assert.equal(err?.code, grpc.status.DATA_LOSS);
    assert.equal(err!.details, `snapshot cut short: 1000 of ${6_288_931 + 100} bytes`);
    assert.deepEqual(received, []);
  });
});
