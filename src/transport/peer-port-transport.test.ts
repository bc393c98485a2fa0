import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import type { Message } from '../raft/types';
import { eventually } from '../util/eventually';
import { recordingLogger, silentLogger } from '../util/logger';
import { PeerClientConstructor } from './peer-service';
import { PeerPortTransport } from './peer-port-transport';
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

describe('PeerPortTransport snapshots', () => {
  let transport: PeerPortTransport;
  const received: Message[] = [];
  before(async () => {
    transport = await PeerPortTransport.listen([{ hostPort: '127.0.0.1:0' }], silentLogger);
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

/** A receiver that records what reaches it; `removed` says which senders it counts as removed. */
function recorder(removedSenders: bigint[] = []) {
  const r = {
    received: [] as Message[], unreachableTo: [] as bigint[], toldRemoved: 0,
    receive: (m: Message) => void r.received.push(m),
    unreachable: (to: bigint) => void r.unreachableTo.push(to),
    isRemoved: (id: bigint) => removedSenders.includes(id),
    removed: () => void r.toldRemoved++,
  };
  return r;
}

const heartbeat = (from: bigint, to: bigint, commit: number): Message => ({
  type: 'MsgHeartbeat', to, from, term: 2, logTerm: 0, index: 0, entries: [], commit, reject: false, rejectHint: 0,
});

describe('PeerPortTransport Raft streams', () => {
  const open: PeerPortTransport[] = [];
  /** A member's transport on a free loopback port, in `cluster`, as member `self`, with peers at the given ports. */
  async function member(self: bigint, cluster: bigint, receiver: ReturnType<typeof recorder>, peers: Array<[bigint, number]> = [], log = silentLogger) {
    const t = await PeerPortTransport.listen([{ hostPort: '127.0.0.1:0' }], log);
    t.setPeers(self, cluster, peers.map(([id, port]) => ({ id, peerURLs: [`http://127.0.0.1:${port}`] })));
    t.attach(receiver as unknown as TransportReceiver);
    open.push(t);
    return t;
  }
  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
  });

  it('carries messages in order, large batches too', async () => {
    const got = recorder();
    const receiving = await member(SELF, CLUSTER, got);
    const sending = await member(SENDER, CLUSTER, recorder(), [[SELF, receiving.ports[0]!]]);
    // Three appends of 3 MiB each: more than one frame (raft-stream.ts FRAME_TARGET_BYTES).
    const appends: Message[] = [1, 2, 3].map((i) => ({
      ...heartbeat(SENDER, SELF, 0), type: 'MsgApp', index: i, entries: [{ term: 2, index: i + 1, type: 'normal', data: Buffer.alloc(3 << 20, i) }],
    }));
    sending.send([heartbeat(SENDER, SELF, 1), ...appends, heartbeat(SENDER, SELF, 2)]);
    await eventually('all five arrived', () => got.received.length === 5);
    assert.deepEqual(got.received.map((m) => [m.type, m.index, m.commit, m.entries[0]?.data[0]]),
      [['MsgHeartbeat', 0, 1, undefined], ['MsgApp', 1, 0, 1], ['MsgApp', 2, 0, 2], ['MsgApp', 3, 0, 3], ['MsgHeartbeat', 0, 2, undefined]]);
  });

  it('refuses a sender of another cluster, which logs the reason', async () => {
    const got = recorder();
    const receiving = await member(SELF, CLUSTER, got);
    const log = recordingLogger();
    const stranger = await member(SENDER, 0xd2n, recorder(), [[SELF, receiving.ports[0]!]], log);
    stranger.send([heartbeat(SENDER, SELF, 1)]);
    await eventually('the refusal logged', () => log.lines.includes('a peer refused this member'));
    assert.equal(log.fields[log.lines.indexOf('a peer refused this member')]!.error, 'request cluster ID mismatch (got d2 want c1)');
    assert.deepEqual(got.received, []);
  });

  it('tells a removed member so, which then learns it was removed', async () => {
    const got = recorder([SENDER]);
    const receiving = await member(SELF, CLUSTER, got);
    const removedOne = recorder();
    const sending = await member(SENDER, CLUSTER, removedOne, [[SELF, receiving.ports[0]!]]);
    sending.send([heartbeat(SENDER, SELF, 1)]);
    await eventually('told it was removed', () => removedOne.toldRemoved === 1);
    assert.deepEqual(got.received, []);
    assert.deepEqual(removedOne.unreachableTo, [SELF]);
  });
});
