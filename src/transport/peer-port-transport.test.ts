import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Message } from '../raft/types';
import { eventually } from '../util/eventually';
import { recordingLogger, silentLogger } from '../util/logger';
import { PeerPortTransport, type PeerTimeouts } from './peer-port-transport';
import { frame, FrameReader, opening, RAFT_PREFACE } from './raft-stream';
import { decodeMessageBatch, encodeMessageBatch } from './raft-wire';
import { SNAPSHOT_PREFACE } from './snapshot-stream';
import type { TransportReceiver } from './transport';

const CLUSTER = 0xc1n;
const SENDER = 1n;
const SELF = 2n;

const snapshotMessage: Message = {
  type: 'MsgSnap', to: SELF, from: SENDER, term: 3, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0,
  snapshot: { metadata: { index: 10, term: 3, confState: { voters: [SENDER, SELF], learners: [] } }, data: new Uint8Array() },
};

/**
 * Sends a snapshot stream by hand (snapshot-stream.ts): the opening, the head, `pieces`, and the end
 * frame if `end`. Resolves with the receiver's answer, or undefined if it closed without one.
 */
async function sendSnapshotByHand(port: number, pieces: Buffer[], end: boolean, cluster = CLUSTER): Promise<string | undefined> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  const reader = new FrameReader();
  const answered = new Promise<string | undefined>((resolve) => {
    socket.on('data', (bytes: Buffer) => {
      reader.push(bytes);
      const answer = reader.next();
      if (answer !== undefined) resolve(answer.toString());
    });
    socket.on('error', () => resolve(undefined));
    socket.on('close', () => resolve(undefined));
  });
  socket.write(opening(cluster, SENDER, SNAPSHOT_PREFACE));
  socket.write(frame(encodeMessageBatch([snapshotMessage])));
  for (const piece of pieces) socket.write(frame(piece));
  if (end) socket.write(frame(Buffer.alloc(0)));
  else socket.end();
  const answer = await answered;
  socket.destroy();
  return answer;
}

/** An intake that records what it was given. */
function recordingIntake() {
  const intake = {
    pieces: [] as Buffer[], dropped: false,
    add: async (p: Buffer) => void intake.pieces.push(p),
    drop: () => { intake.dropped = true; },
    unfit: () => undefined,
  };
  return intake;
}

const open: PeerPortTransport[] = [];

/** A member's transport on a free loopback port, in `cluster`, as member `self`, with peers at the given ports. */
async function member(self: bigint, cluster: bigint, receiver: object, peers: Array<[bigint, number]> = [], log = silentLogger, timeouts?: PeerTimeouts) {
  const t = await PeerPortTransport.listen([{ hostPort: '127.0.0.1:0' }], log, undefined, timeouts);
  t.setPeers(self, cluster, peers.map(([id, port]) => ({ id, peerURLs: [`http://127.0.0.1:${port}`] })));
  t.attach(receiver as TransportReceiver);
  open.push(t);
  return t;
}

const servers: Server[] = [];

async function closeMembers(): Promise<void> {
  await Promise.all(open.splice(0).map((t) => t.close()));
  for (const s of servers.splice(0)) s.close();
}

/** Short timeouts, so that tests of silent links take a second, not a minute. */
const SHORT: PeerTimeouts = { linkMs: 400, snapshotIdleMs: 400 };

/** A plain TCP server on a loopback port, closed after the test; `serve` gets each connection. */
async function tcpServer(serve: (socket: Socket) => void): Promise<number> {
  const server = createServer((socket) => {
    socket.on('error', () => { /* the other side's reset */ });
    serve(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/** A loopback port nobody listens on (taken from the kernel, then let go). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Connections to `port` through a forwarder whose open tunnels can be frozen: bytes stop both
 * ways and the sockets stay open, as on a link that drops everything. Each tunnel records which
 * of its ends closed.
 */
async function freezableLink(port: number) {
  const tunnels: Array<{ frozen: boolean; senderClosed: boolean; receiverClosed: boolean }> = [];
  const listenPort = await tcpServer((fromSender) => {
    const toReceiver = connect({ host: '127.0.0.1', port });
    toReceiver.on('error', () => { /* the other side's reset */ });
    const tunnel = { frozen: false, senderClosed: false, receiverClosed: false };
    tunnels.push(tunnel);
    fromSender.on('data', (bytes) => tunnel.frozen || toReceiver.write(bytes));
    toReceiver.on('data', (bytes) => tunnel.frozen || fromSender.write(bytes));
    fromSender.once('close', () => {
      tunnel.senderClosed = true;
      if (!tunnel.frozen) toReceiver.destroy();
    });
    toReceiver.once('close', () => {
      tunnel.receiverClosed = true;
      if (!tunnel.frozen) fromSender.destroy();
    });
  });
  return { port: listenPort, tunnels, freeze: () => tunnels.forEach((t) => (t.frozen = true)) };
}

describe('PeerPortTransport snapshots', () => {
  /** A receiving member and a sending one; what reaches each side's Raft is recorded. */
  async function pair(refusal?: string) {
    const received: Message[] = [];
    const intakes: Array<ReturnType<typeof recordingIntake>> = [];
    const receiving = await member(SELF, CLUSTER, {
      snapshotIntake: () => intakes[intakes.push(recordingIntake()) - 1],
      snapshotArrived: (m: Message, intake: ReturnType<typeof recordingIntake>) => {
        assert.equal(intake, intakes[intakes.length - 1], 'the intake its state went to');
        if (refusal === undefined) received.push(m);
        return refusal;
      },
      isRemoved: () => false,
    });
    const reports: boolean[] = [];
    const log = recordingLogger();
    const sending = await member(SENDER, CLUSTER, { snapshotSent: (_to: bigint, failed: boolean) => reports.push(failed) }, [[SELF, receiving.ports[0]!]], log);
    return { receiving, sending, received, intakes, reports, log };
  }
  afterEach(closeMembers);

  it('streams the state as it is read, 24 MiB in pieces of 3 MiB, to the intake as they come, then the message to Raft', async () => {
    const { sending, received, intakes, reports, log } = await pair();
    const pieces = Array.from({ length: 8 }, (_, i) => Buffer.alloc(3 << 20, i));
    await sending.sendSnapshot(snapshotMessage, (async function* () { yield* pieces; })());
    await eventually('the sender told', () => reports.length === 1);
    assert.deepEqual(reports, [false]);
    assert.equal(received.length, 1);
    assert.equal(received[0]!.snapshot!.metadata.index, 10);
    assert.equal(received[0]!.snapshot!.data.length, 0, 'the state stays with the intake');
    assert.equal(intakes.length, 1);
    assert.deepEqual(intakes[0]!.pieces, pieces);
    assert.equal(intakes[0]!.dropped, false);
    assert.equal(log.fields[log.lines.indexOf('sent snapshot')]!.bytes, 24 << 20);
  });

  it('gives up a snapshot whose state cannot be read, and the receiver drops what came of it', async () => {
    const { sending, received, intakes, reports, log } = await pair();
    await sending.sendSnapshot(snapshotMessage, (async function* () {
      yield Buffer.alloc(1 << 20);
      throw new Error('iterator closed under the dump');
    })());
    await eventually('the sender told', () => reports.length === 1);
    assert.deepEqual(reports, [true]);
    assert.equal(log.fields[log.lines.indexOf('cannot send snapshot')]!.error, 'Error: iterator closed under the dump');
    await eventually('the intake dropped', () => intakes[0]?.dropped === true);
    assert.deepEqual(received, []);
  });

  it('reports a snapshot to a member it does not know as failed, without reading the state', async () => {
    const { sending, reports } = await pair();
    let read = false;
    await sending.sendSnapshot({ ...snapshotMessage, to: 9n }, (async function* () { read = true; yield Buffer.alloc(1); })());
    assert.deepEqual(reports, [true]);
    assert.equal(read, false);
  });

  // A stream that ends early (its connection broke) once reached Raft, and the member crashed
  // installing the partial state (chaos seed 200).
  it('drops a snapshot whose connection ends before its end frame, and answers one that came whole', async () => {
    const { receiving, received, intakes } = await pair();
    const port = receiving.ports[0]!;
    assert.equal(await sendSnapshotByHand(port, [Buffer.alloc(1000)], false), undefined);
    await eventually('the intake dropped', () => intakes[0]?.dropped === true);
    assert.equal(received.length, 0);
    assert.equal(await sendSnapshotByHand(port, [Buffer.from('sta'), Buffer.from('te')], true), '');
    assert.equal(received.length, 1);
    assert.deepEqual(intakes[1]!.pieces.map(String), ['sta', 'te']);
  });

  it('tells the sender when the receiving member turns the whole snapshot down, and reports it failed', async () => {
    const { sending, received, reports, log } = await pair('superseded by a newer snapshot');
    await sending.sendSnapshot(snapshotMessage, (async function* () { yield Buffer.alloc(1 << 20); })());
    await eventually('the sender told', () => reports.length === 1);
    assert.deepEqual(reports, [true]);
    assert.equal(log.fields[log.lines.indexOf('a peer refused a snapshot')]!.error, 'superseded by a newer snapshot');
    assert.deepEqual(received, []);
  });

  it('refuses a snapshot from another cluster before taking any of it', async () => {
    const { receiving, received, intakes } = await pair();
    assert.equal(await sendSnapshotByHand(receiving.ports[0]!, [Buffer.alloc(10)], true, 0xd2n), 'request cluster ID mismatch (got d2 want c1)');
    assert.deepEqual(received, []);
    assert.deepEqual(intakes, []);
  });

  it('gives up a snapshot whose receiver takes nothing more, and reports it failed', async () => {
    // The receiver accepts the connection and never reads it: a host gone without a reset.
    const port = await tcpServer((socket) => socket.pause());
    const reports: boolean[] = [];
    const log = recordingLogger();
    const sending = await member(SENDER, CLUSTER, { snapshotSent: (_to: bigint, failed: boolean) => reports.push(failed) }, [[SELF, port]], log, SHORT);
    // More than the two sockets' buffers hold, so that the sender has to wait for the receiver.
    const pieces = Array.from({ length: 32 }, () => Buffer.alloc(1 << 20));
    await sending.sendSnapshot(snapshotMessage, (async function* () { yield* pieces; })());
    assert.deepEqual(reports, [true]);
    assert.equal(log.fields[log.lines.indexOf('cannot send snapshot')]!.error, 'Error: the receiver took nothing and said nothing for 400 ms');
  });

  it('gives up a snapshot whose sender falls silent, and drops what came of it', async () => {
    const received: Message[] = [];
    const intakes: Array<ReturnType<typeof recordingIntake>> = [];
    const log = recordingLogger();
    const receiving = await member(SELF, CLUSTER, {
      snapshotIntake: () => intakes[intakes.push(recordingIntake()) - 1],
      snapshotArrived: (m: Message) => void received.push(m),
      isRemoved: () => false,
    }, [], log, SHORT);
    const socket = connect({ host: '127.0.0.1', port: receiving.ports[0]! });
    socket.on('error', () => { /* the receiver's reset */ });
    socket.write(opening(CLUSTER, SENDER, SNAPSHOT_PREFACE));
    socket.write(frame(encodeMessageBatch([snapshotMessage])));
    socket.write(frame(Buffer.from('the first piece')));
    // ...and nothing more, with the connection left open.
    await once(socket, 'close');
    await eventually('the intake dropped', () => intakes[0]?.dropped === true);
    assert.equal(intakes.length, 1);
    assert.deepEqual(intakes[0]!.pieces.map(String), ['the first piece']);
    assert.deepEqual(received, []);
    assert.equal(log.fields[log.lines.indexOf('dropped an incomplete snapshot')]!.error, 'no bytes from the sender for 400 ms');
  });

  it('tells the sender when the receiver refuses, and reports the snapshot failed', async () => {
    const received: Message[] = [];
    const receiving = await member(SELF, 0xd2n, { receive: (m: Message) => received.push(m), isRemoved: () => false });
    const reports: boolean[] = [];
    const log = recordingLogger();
    const sending = await member(SENDER, CLUSTER, { snapshotSent: (_to: bigint, failed: boolean) => reports.push(failed) }, [[SELF, receiving.ports[0]!]], log);
    await sending.sendSnapshot(snapshotMessage, (async function* () { yield Buffer.alloc(1 << 20); })());
    assert.deepEqual(reports, [true]);
    assert.equal(log.fields[log.lines.indexOf('a peer refused a snapshot')]!.error, 'request cluster ID mismatch (got c1 want d2)');
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
  afterEach(closeMembers);

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

  it('asks a peer which voters it hears from, and hears a refusal when it does not lead', async () => {
    let leads = true;
    const receiving = await member(SELF, CLUSTER, { ...recorder(), activeVoters: () => (leads ? new Set([SELF, 7n]) : undefined) });
    const asking = await member(SENDER, CLUSTER, recorder(), [[SELF, receiving.ports[0]!]]);
    assert.deepEqual(await asking.activeVoters(SELF), new Set([SELF, 7n]));
    leads = false;
    await assert.rejects(asking.activeVoters(SELF), /not the leader/);
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

  it('gives up a stream on a link gone silent, on both ends, and opens a new one', async () => {
    const got = recorder();
    const receiverLog = recordingLogger();
    const receiving = await member(SELF, CLUSTER, got, [], receiverLog, SHORT);
    const link = await freezableLink(receiving.ports[0]!);
    const sending = await member(SENDER, CLUSTER, recorder(), [[SELF, link.port]], silentLogger, SHORT);
    sending.send([heartbeat(SENDER, SELF, 1)]);
    await eventually('the first heartbeat arrived', () => got.received.length === 1);
    link.freeze();
    await eventually('both ends gave the frozen stream up', () => link.tunnels[0]!.senderClosed && link.tunnels[0]!.receiverClosed);
    assert.equal(receiverLog.fields[receiverLog.lines.indexOf('closed a silent raft stream')]!.error, 'no word from the sender for 400 ms');
    // Raft sends on: the next message opens a new stream, which carries it.
    await eventually('a heartbeat came on a new stream', () => {
      sending.send([heartbeat(SENDER, SELF, 2)]);
      return got.received.some((m) => m.commit === 2);
    });
    assert.equal(link.tunnels.length, 2);
  });

  it('keeps a quiet stream open, and one from a sender that never pings (an older build)', async () => {
    const got = recorder();
    const receiving = await member(SELF, CLUSTER, got, [], silentLogger, SHORT);
    const link = await freezableLink(receiving.ports[0]!);
    const sending = await member(SENDER, CLUSTER, recorder(), [[SELF, link.port]], silentLogger, SHORT);
    sending.send([heartbeat(SENDER, SELF, 1)]);
    const olderSender = connect({ host: '127.0.0.1', port: receiving.ports[0]! });
    olderSender.write(Buffer.concat([opening(CLUSTER, 3n), frame(encodeMessageBatch([heartbeat(3n, SELF, 1)]))]));
    await eventually('both heartbeats arrived', () => got.received.length === 2);
    let olderClosed = false;
    olderSender.once('close', () => (olderClosed = true));
    // What is shown is that nothing happens: three timeouts pass without a message sent.
    await new Promise((resolve) => setTimeout(resolve, 3 * SHORT.linkMs));
    assert.equal(link.tunnels.length, 1);
    assert.equal(link.tunnels[0]!.senderClosed || link.tunnels[0]!.receiverClosed, false);
    assert.equal(olderClosed, false);
    olderSender.destroy();
  });

  it('keeps a stream to a receiver that never pings (an older build)', async () => {
    const seen: Buffer[] = [];
    let connections = 0;
    const port = await tcpServer((socket) => {
      connections++;
      socket.on('data', (bytes) => seen.push(bytes));
    });
    const sending = await member(SENDER, CLUSTER, recorder(), [[SELF, port]], silentLogger, SHORT);
    sending.send([heartbeat(SENDER, SELF, 1)]);
    await eventually('the stream opened', () => seen.length > 0);
    // What is shown is that nothing happens: three timeouts pass without the receiver saying a word.
    await new Promise((resolve) => setTimeout(resolve, 3 * SHORT.linkMs));
    sending.send([heartbeat(SENDER, SELF, 2)]);
    await eventually('the second heartbeat went on the same stream', () => {
      const reader = new FrameReader();
      reader.push(Buffer.concat(seen).subarray(RAFT_PREFACE.length));
      reader.next(); // the hello
      const batches: Message[][] = [];
      for (let f = reader.next(); f !== undefined; f = reader.next()) batches.push(decodeMessageBatch(f));
      return batches.flat().some((m) => m.commit === 2);
    });
    assert.equal(connections, 1);
  });

  // A member down while a peer's URL changed restarts with that peer's old URL in its membership:
  // it heard the peer's appends and its answers went nowhere, so it never caught up to the change.
  it('answers a peer listed at a dead address where the peer says it is, and dials the listed one again once that fails', async () => {
    const atSelf = recorder();
    const log = recordingLogger();
    const self = await member(SELF, CLUSTER, atSelf, [[SENDER, await deadPort()]], log);
    const atSender = recorder();
    const moved = await member(SENDER, CLUSTER, atSender, [[SELF, self.ports[0]!]]);
    moved.setPeer(SENDER, [`http://127.0.0.1:${moved.ports[0]}`]);
    self.send([heartbeat(SELF, SENDER, 1)]);
    await eventually('the listed address found dead', () => atSelf.unreachableTo.includes(SENDER));
    moved.send([heartbeat(SENDER, SELF, 1)]);
    await eventually('the moved peer heard', () => atSelf.received.length === 1);
    await eventually('an answer reached the moved peer', () => {
      self.send([heartbeat(SELF, SENDER, 2)]);
      return atSender.received.some((m) => m.commit === 2);
    });
    assert.equal(log.fields[log.lines.indexOf('dialing a peer where it says it is')]!.address, `127.0.0.1:${moved.ports[0]}`);
    await moved.close();
    await eventually('back to the listed address', () => {
      self.send([heartbeat(SELF, SENDER, 3)]);
      return log.lines.includes('dialing a peer at its listed address again');
    });
  });

  it('answers a peer its membership does not list yet (one that joined while it was down)', async () => {
    const atSelf = recorder();
    const self = await member(SELF, CLUSTER, atSelf);
    const atJoined = recorder();
    const joined = await member(3n, CLUSTER, atJoined, [[SELF, self.ports[0]!]]);
    joined.setPeer(3n, [`http://127.0.0.1:${joined.ports[0]}`]);
    joined.send([heartbeat(3n, SELF, 1)]);
    await eventually('the joined peer heard', () => atSelf.received.length === 1);
    self.send([heartbeat(SELF, 3n, 1)]);
    await eventually('the answer reached it', () => atJoined.received.length === 1);
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
