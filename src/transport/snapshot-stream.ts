import type { Duplex } from 'node:stream';
import type { Message, NodeId } from '../raft/types';
import { EMPTY_BYTES } from '../util/bytes';
import type { Logger } from '../util/logger';
import { frame, frameHead, FrameReader, HELLO_BYTES, MAX_ANSWER_BYTES, MAX_FRAME_BYTES, parseHello } from './raft-stream';
import { decodeMessageBatch, encodeMessageBatch } from './raft-wire';
import type { TransportReceiver } from './transport';

/**
 * A snapshot on a connection of its own to the peer port, framed as a Raft stream
 * (raft-stream.ts). It left gRPC: HTTP/2's 64 KiB stream window made sending a million-key state
 * (306 MB) take 4.7 s where reading it takes 1.6 s; a socket is paced by TCP alone.
 *
 * The sender opens with SNAPSHOT_PREFACE and a hello, then sends a frame holding the MsgSnap (a
 * MessageBatch of one, without its state), the state in frames of the pieces it is read in, and an
 * empty frame: the end. A connection that closes before the end brought no snapshot. The receiver
 * answers once: an empty frame when Raft has the snapshot, otherwise why it was refused.
 */
export const SNAPSHOT_PREFACE = Buffer.from('KEEL-SNAP/1\n');

/**
 * How long either side waits for the other to make progress before it gives the snapshot up: the
 * receiver for the sender's next bytes, the sender for the receiver to take more or to answer.
 * A host that vanished without a reset otherwise held the sender until TCP gave up (about 15
 * minutes), with the dump's LevelDB snapshot pinned and the follower waiting in Raft's snapshot
 * state. Generous beside etcd's 5 s peer read timeout: the receiver reads no more while it writes
 * a piece to its engine, and a LevelDB write stall under a large install can last seconds.
 */
export const SNAPSHOT_IDLE_MS = 30_000;

/** What the receiving member's port tells the stream. */
export interface SnapshotStreamHost {
  /** Why a sender is turned away, if it is (transport's refusal). */
  refusal(sender: NodeId, clusterId: string): string | undefined;
  receiver(): TransportReceiver | undefined;
  log: Logger;
  /** SNAPSHOT_IDLE_MS, shortened by tests. */
  idleMs: number;
}

/**
 * Receives one snapshot, past the preface: its pieces go to the receiver's intake as they come
 * (the socket read no faster than the intake takes them), and the message to Raft once the end
 * came, its state staying with the intake. A stream that breaks off, or is malformed, is dropped
 * with its intake.
 */
export async function receiveSnapshotStream(socket: Duplex, rest: Buffer, host: SnapshotStreamHost): Promise<void> {
  socket.on('error', () => { /* seen as the stream ending early */ });
  const frames = framesOf(socket, rest, host.idleMs);
  let sender: NodeId | undefined;
  let received = 0;
  let intake: ReturnType<TransportReceiver['snapshotIntake']> | undefined;
  try {
    const hello = parseHello(await frames.next());
    const refused = host.refusal(hello.memberId, hello.clusterId.toString(16));
    if (refused !== undefined) return void socket.end(frame(Buffer.from(refused)));
    sender = hello.memberId;
    frames.reader.limit = MAX_FRAME_BYTES;
    const head = decodeMessageBatch(await frames.next())[0];
    if (head?.type !== 'MsgSnap' || head.snapshot === undefined || head.from !== sender) {
      throw new Error('the stream does not open with a snapshot message from its sender');
    }
    const receiver = host.receiver();
    if (receiver === undefined) return void socket.end(frame(Buffer.from('member is starting')));
    intake = receiver.snapshotIntake(head);
    for (let piece = await frames.next(); piece.length > 0; piece = await frames.next()) {
      received += piece.length;
      await intake.add(piece);
    }
    const turnedDown = receiver.snapshotArrived(head, intake);
    socket.end(frame(turnedDown === undefined ? EMPTY_BYTES : Buffer.from(turnedDown)));
  } catch (err) {
    intake?.drop();
    host.log.warn('dropped an incomplete snapshot', { peer: sender?.toString(16), received, error: (err as Error).message });
    socket.destroy();
  }
}

/**
 * A connection's frames, read only as they are asked for: the socket is paused in between. A wait
 * for bytes longer than `idleMs` ends the connection.
 */
function framesOf(socket: Duplex, rest: Buffer, idleMs: number) {
  const reader = new FrameReader(HELLO_BYTES);
  reader.push(rest);
  let ended = false;
  let silent = false;
  let wake: (() => void) | undefined;
  socket.on('data', (bytes: Buffer) => {
    reader.push(bytes);
    socket.pause();
    wake?.();
  });
  const onEnd = () => {
    ended = true;
    wake?.();
  };
  socket.once('end', onEnd);
  socket.once('close', onEnd);
  socket.pause();
  return {
    reader,
    async next(): Promise<Buffer> {
      for (;;) {
        const payload = reader.next();
        if (payload !== undefined) return payload;
        if (silent) throw new Error(`no bytes from the sender for ${idleMs} ms`);
        if (ended) throw new Error('the connection ended before the snapshot did');
        const idle = setTimeout(() => {
          silent = true;
          socket.destroy();
        }, idleMs);
        await new Promise<void>((resolve) => {
          wake = resolve;
          socket.resume();
        });
        clearTimeout(idle);
        wake = undefined;
      }
    },
  };
}

/**
 * Sends `m` with the state in `pieces` on `socket` (dialled, paused), after `opening`. Writes wait
 * for the socket to drain, so a slow receiver slows the reading instead of the state piling up.
 * Resolves with the state's size and the receiver's answer: '' when taken, else why not; rejects
 * when the receiver neither takes more nor answers for `idleMs`.
 */
export async function sendSnapshotStream(
  socket: Duplex, opening: Buffer, m: Message, pieces: AsyncIterable<Uint8Array>, idleMs: number,
): Promise<{ bytes: number; answer: string }> {
  const answered = answerOf(socket);
  let over = false;
  void answered.then(() => { over = true; }, () => { over = true; });
  socket.write(opening);
  socket.write(frame(encodeMessageBatch([{ ...m, snapshot: { ...m.snapshot!, data: EMPTY_BYTES } }])));
  let bytes = 0;
  for await (const piece of pieces) {
    if (over) break;
    if (piece.length === 0) continue;
    socket.write(frameHead(piece.length));
    bytes += piece.length;
    // The piece goes as it is, not copied into a frame: it is a megabyte.
    if (!socket.write(piece)) await awaitReceiver(socket, idleMs, drainedOrOver(socket, answered));
  }
  if (!over) socket.write(frame(EMPTY_BYTES));
  return { bytes, answer: await awaitReceiver(socket, idleMs, answered) };
}

/** `wait`, ending the connection if the receiver lets it last more than `idleMs`. */
async function awaitReceiver<T>(socket: Duplex, idleMs: number, wait: Promise<T>): Promise<T> {
  const timer = setTimeout(() => socket.destroy(new Error(`the receiver took nothing and said nothing for ${idleMs} ms`)), idleMs);
  try {
    return await wait;
  } finally {
    clearTimeout(timer);
  }
}

/** The receiver's one answer; rejects if the connection ends without one. */
function answerOf(socket: Duplex): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FrameReader(MAX_ANSWER_BYTES);
    let failure: Error | undefined;
    socket.on('data', (bytes: Buffer) => {
      reader.push(bytes);
      try {
        const answer = reader.next();
        if (answer !== undefined) resolve(answer.toString());
      } catch (err) {
        socket.destroy(err as Error);
      }
    });
    socket.on('error', (err) => (failure = err));
    socket.once('close', () => reject(failure ?? new Error('the peer closed the connection without an answer')));
    socket.resume();
  });
}

function drainedOrOver(socket: Duplex, answered: Promise<string>): Promise<void> {
  return new Promise((resolve) => {
    const wake = () => {
      socket.off('drain', wake);
      socket.off('close', wake);
      resolve();
    };
    socket.on('drain', wake);
    socket.on('close', wake);
    answered.then(wake, wake);
  });
}
