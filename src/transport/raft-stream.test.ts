import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { Message } from '../raft/types';
import { frame, framedBatches, FRAME_TARGET_BYTES, FrameReader, HELLO_BYTES, opening, parseHello, RAFT_PREFACE, sniffPeerConnection } from './raft-stream';
import { decodeMessageBatch } from './raft-wire';
import { SNAPSHOT_PREFACE } from './snapshot-stream';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/** Everything a reader yields for `chunks` fed one after another. */
function readAll(reader: FrameReader, chunks: Buffer[]): string[] {
  const out: string[] = [];
  for (const c of chunks) {
    reader.push(c);
    for (let p = reader.next(); p !== undefined; p = reader.next()) out.push(p.toString());
  }
  return out;
}

describe('raft stream framing', () => {
  it('reads frames split anywhere and several in one chunk', () => {
    const bytes = Buffer.concat([frame(Buffer.from('one')), frame(Buffer.alloc(0)), frame(Buffer.from('three'))]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      assert.deepEqual(readAll(new FrameReader(), [bytes.subarray(0, cut), bytes.subarray(cut)]), ['one', '', 'three'], `cut at ${cut}`);
    }
    assert.deepEqual(readAll(new FrameReader(), [...bytes].map((b) => Buffer.from([b]))), ['one', '', 'three']);
  });

  it('puts messages in frames that end once their entries pass the target size, order kept', () => {
    const append = (index: number, bytes: number): Message => ({
      type: 'MsgApp', to: 2n, from: 1n, term: 2, logTerm: 2, index, commit: 0, reject: false, rejectHint: 0,
      entries: [{ term: 2, index: index + 1, type: 'normal', data: Buffer.alloc(bytes) }],
    });
    const third = Math.ceil(FRAME_TARGET_BYTES / 3);
    const messages = [append(1, 10), append(2, third), append(3, third), append(4, third), append(5, FRAME_TARGET_BYTES * 2), append(6, 10)];
    const reader = new FrameReader();
    reader.push(framedBatches(messages));
    const frames: number[][] = [];
    for (let p = reader.next(); p !== undefined; p = reader.next()) frames.push(decodeMessageBatch(p).map((m) => m.index));
    assert.deepEqual(frames, [[1, 2, 3, 4], [5], [6]]);
  });

  it('refuses a frame announced above its limit before its bytes come', () => {
    const reader = new FrameReader(HELLO_BYTES);
    reader.push(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    assert.throws(() => reader.next(), /frame of 4294967295 bytes, more than 16/);
  });

  it('opens with the preface and a hello naming the cluster and the member, 64 bits each', () => {
    const bytes = opening(0xfedc_ba98_7654_3210n, 0x1234n);
    assert.deepEqual(bytes.subarray(0, RAFT_PREFACE.length), RAFT_PREFACE);
    const reader = new FrameReader(HELLO_BYTES);
    reader.push(bytes.subarray(RAFT_PREFACE.length));
    assert.deepEqual(parseHello(reader.next()!), { clusterId: 0xfedc_ba98_7654_3210n, memberId: 0x1234n });
    assert.throws(() => parseHello(Buffer.alloc(3)), /hello of 3 bytes/);
  });
});

describe('sniffing a peer-port connection', () => {
  /** Feeds `chunks` to a fresh connection; resolves with where it went and the bytes that one reads. */
  async function sniff(chunks: Buffer[]): Promise<{ to: 'raft' | 'snapshot' | 'other'; bytes: Buffer }> {
    const socket = new PassThrough();
    const handed = new Promise<{ to: 'raft' | 'snapshot' | 'other'; bytes: Buffer }>((resolve) => {
      const kinds = [
        { preface: RAFT_PREFACE, serve: (_s: unknown, rest: Buffer) => resolve({ to: 'raft', bytes: rest }) },
        { preface: SNAPSHOT_PREFACE, serve: (_s: unknown, rest: Buffer) => resolve({ to: 'snapshot', bytes: rest }) },
      ];
      sniffPeerConnection(socket, kinds, (s) => {
        // gRPC reads the socket from its start: whatever was looked at must be there again.
        s.once('readable', () => resolve({ to: 'other', bytes: s.read() as Buffer }));
      });
    });
    for (const c of chunks) socket.write(c);
    return handed;
  }

  it('keeps a connection that opens with the Raft preface, with what followed it', async () => {
    const hello = opening(1n, 2n);
    assert.deepEqual(await sniff([hello.subarray(0, 3), hello.subarray(3, 14), hello.subarray(14)]),
      { to: 'raft', bytes: hello.subarray(RAFT_PREFACE.length, 14) });
  });

  it('tells a snapshot connection from a Raft one, though their prefaces start alike', async () => {
    const hello = opening(1n, 2n, SNAPSHOT_PREFACE);
    assert.deepEqual(await sniff([hello.subarray(0, 4), hello.subarray(4)]), { to: 'snapshot', bytes: hello.subarray(SNAPSHOT_PREFACE.length) });
  });

  it('hands anything else to gRPC with every byte it read put back', async () => {
    assert.deepEqual(await sniff([H2_PREFACE]), { to: 'other', bytes: H2_PREFACE });
    // A prefix of the Raft preface that then goes astray is not a Raft stream either.
    const astray = Buffer.concat([RAFT_PREFACE.subarray(0, 5), Buffer.from('x')]);
    assert.deepEqual(await sniff([RAFT_PREFACE.subarray(0, 5), Buffer.from('x')]), { to: 'other', bytes: astray });
  });
});
