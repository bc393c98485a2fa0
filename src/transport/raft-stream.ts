import type { Duplex } from 'node:stream';
import type { Message } from '../raft/types';
import { EMPTY_BYTES } from '../util/bytes';
import { encodeMessageBatch } from './raft-wire';

/**
 * Raft messages between members as length-prefixed frames on a plain TCP (or TLS) connection to
 * the peer port, beside gRPC on the same port. A grpc-js client stream cost 79 µs of CPU per
 * message round trip here against 30 µs for a socket, and a put on three members makes four round
 * trips. Snapshots open connections of the same kind with a preface of their own
 * (snapshot-stream.ts); lease and membership questions stay on gRPC.
 *
 * The sender opens with RAFT_PREFACE and a hello frame (its cluster ID and member ID, 8 bytes
 * each, big-endian), then a batch of no messages that carries where it is reached
 * (MessageBatch.sender_peer_url, for a receiver whose membership is behind), then one frame per
 * batch of messages (raft-wire's MessageBatch). The
 * receiver answers only to refuse: a frame with the reason, then it closes. Both sides ping on a
 * quiet stream with an empty frame (a batch of no messages) and give up on one that stays silent
 * (link-liveness.ts).
 */

/** What a Raft connection starts with; an HTTP/2 connection starts with "PRI * HTTP/2.0". */
export const RAFT_PREFACE = Buffer.from('KEEL-RAFT/1\n');

/**
 * A sender starts a new frame once the messages in one pass this size. A frame can be larger only
 * by one message, bounded by --max-request-bytes: Raft puts at least one entry in each append.
 */
export const FRAME_TARGET_BYTES = 4 * 1024 * 1024;

/** A frame announced as larger than this ends the connection: its length is damaged. */
export const MAX_FRAME_BYTES = 1024 * 1024 * 1024;

const LENGTH_BYTES = 4;
/** The hello: the only frame an unknown sender may send, so it cannot make a member buffer more. */
export const HELLO_BYTES = 16;

/** What a receiver may answer a sender with (why it refuses, or a snapshot's outcome); a longer answer is not one. */
export const MAX_ANSWER_BYTES = 4096;

/** A frame's head alone, for a payload written after it as it is (a snapshot's megabyte pieces). */
export function frameHead(payloadLength: number): Buffer {
  const head = Buffer.allocUnsafe(LENGTH_BYTES);
  head.writeUInt32BE(payloadLength, 0);
  return head;
}

/** A frame: the payload's length (4 bytes, big-endian), then the payload. */
export function frame(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(LENGTH_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, LENGTH_BYTES);
  return out;
}

/** A frame of no payload: the ping that keeps a quiet stream alive, and a snapshot stream's end. */
export const PING = frame(EMPTY_BYTES);

/** Messages as frames of MessageBatches, each ending once its entries pass FRAME_TARGET_BYTES, in one buffer for one write. */
export function framedBatches(messages: Message[]): Buffer {
  const frames: Buffer[] = [];
  let from = 0;
  let bytes = 0;
  for (let i = 0; i < messages.length; i++) {
    for (const e of messages[i]!.entries) bytes += e.data.length;
    if (bytes >= FRAME_TARGET_BYTES || i === messages.length - 1) {
      frames.push(frame(encodeMessageBatch(messages.slice(from, i + 1))));
      from = i + 1;
      bytes = 0;
    }
  }
  return frames.length === 1 ? frames[0]! : Buffer.concat(frames);
}

/** The preface and hello a sender opens its connection with. */
export function opening(clusterId: bigint, memberId: bigint, preface = RAFT_PREFACE): Buffer {
  const hello = Buffer.allocUnsafe(HELLO_BYTES);
  hello.writeBigUInt64BE(clusterId, 0);
  hello.writeBigUInt64BE(memberId, 8);
  return Buffer.concat([preface, frame(hello)]);
}

export function parseHello(payload: Buffer): { clusterId: bigint; memberId: bigint } {
  if (payload.length !== HELLO_BYTES) throw new Error(`raft stream hello of ${payload.length} bytes, want ${HELLO_BYTES}`);
  return { clusterId: payload.readBigUInt64BE(0), memberId: payload.readBigUInt64BE(8) };
}

/**
 * Splits a byte stream into frames' payloads. The reads that bring a frame are joined once, when
 * it is whole: joining them as they came copied a 1 MiB frame of 64 KiB reads eight times over.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** The largest frame taken: raised once the sender is known. */
  constructor(public limit = MAX_FRAME_BYTES) {}

  push(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.chunks.push(bytes);
    this.buffered += bytes.length;
  }

  /** The next whole frame's payload (a view of the bytes pushed), or undefined until more come; throws on a frame announced above `limit`. */
  next(): Buffer | undefined {
    if (this.buffered < LENGTH_BYTES) return undefined;
    const length = this.first(LENGTH_BYTES).readUInt32BE(0);
    if (length > this.limit) throw new Error(`raft stream frame of ${length} bytes, more than ${this.limit}`);
    const size = LENGTH_BYTES + length;
    if (this.buffered < size) return undefined;
    const whole = this.first(size);
    this.chunks[0] = whole.subarray(size);
    if (this.chunks[0].length === 0) this.chunks.shift();
    this.buffered -= size;
    return whole.subarray(LENGTH_BYTES, size);
  }

  /** The first chunk, once it holds at least `bytes` (joined with those after it if need be). */
  private first(bytes: number): Buffer {
    if (this.chunks[0]!.length >= bytes) return this.chunks[0]!;
    let count = 0;
    for (let held = 0; held < bytes; count++) held += this.chunks[count]!.length;
    const joined = Buffer.concat(this.chunks.splice(0, count));
    this.chunks.unshift(joined);
    return joined;
  }
}

/** How long a new connection may stay silent before the port gives up on it. */
const SNIFF_TIMEOUT_MS = 10_000;

/** A kind of connection the peer port serves itself: those opening with `preface` go to `serve`, with what followed it. */
export interface PeerStreamKind {
  preface: Buffer;
  serve(socket: Duplex, rest: Buffer): void;
}

/**
 * Reads a new peer-port connection's first bytes and hands it on: to the kind whose preface they
 * are, otherwise, bytes put back, to `other` (gRPC).
 */
export function sniffPeerConnection(socket: Duplex, kinds: PeerStreamKind[], other: (socket: Duplex) => void): void {
  let seen: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), SNIFF_TIMEOUT_MS).unref();
  const settle = () => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('error', onError);
    socket.off('end', onEnd);
  };
  const handOver = () => {
    settle();
    socket.pause();
    socket.unshift(seen);
    other(socket);
  };
  const onData = (bytes: Buffer) => {
    seen = seen.length === 0 ? bytes : Buffer.concat([seen, bytes]);
    const candidates = kinds.filter(({ preface }) => {
      const compared = Math.min(seen.length, preface.length);
      return seen.subarray(0, compared).equals(preface.subarray(0, compared));
    });
    if (candidates.length === 0) return handOver();
    const kind = candidates.find(({ preface }) => seen.length >= preface.length);
    if (kind === undefined) return;
    settle();
    kind.serve(socket, seen.subarray(kind.preface.length));
  };
  const onError = () => {
    settle();
    socket.destroy();
  };
  // Ended before saying what it is: gRPC answers it as it would anyway.
  const onEnd = () => handOver();
  socket.on('data', onData);
  socket.once('error', onError);
  socket.once('end', onEnd);
}
