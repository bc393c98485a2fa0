import * as grpc from '@grpc/grpc-js';
import { invariant } from '../util/invariant';

/**
 * Several responses of one server stream, framed as gRPC puts them on the wire (a 0 byte for "not
 * compressed", the length, the message) back to back, to go out in one HTTP/2 write.
 */
export class FramedMessages {
  private constructor(
    readonly bytes: Buffer,
    /** How many responses the bytes hold. */
    readonly count: number,
  ) {}

  static of(messages: Buffer[]): FramedMessages {
    let total = 0;
    for (const m of messages) total += 5 + m.length;
    const bytes = Buffer.allocUnsafe(total);
    let at = 0;
    for (const m of messages) {
      bytes[at] = 0;
      bytes.writeUInt32BE(m.length, at + 1);
      bytes.set(m, at + 5);
      at += 5 + m.length;
    }
    return new FramedMessages(bytes, messages.length);
  }
}

/** How many responses a value written to a server stream stands for. */
export function messagesIn(value: unknown): number {
  return value instanceof FramedMessages ? value.count : 1;
}

/** The part of node:http2's ServerHttp2Stream this needs. */
interface Http2Out {
  readonly destroyed: boolean;
  readonly closed: boolean;
  write(data: Buffer, cb: (err?: Error | null) => void): boolean;
}

/** Response headers with nothing of ours in them (grpc-js adds its own). */
const NO_METADATA = new grpc.Metadata();

type WriteFn = (chunk: unknown, encoding: BufferEncoding, cb: (err?: Error | null) => void) => void;

/**
 * Lets a server stream take FramedMessages besides single responses.
 *
 * grpc-js's server stream sends one response per HTTP/2 write and starts the next only once that
 * write completed, so the thousand watch responses of one put (a thousand watchers on a stream)
 * cost a thousand trips through node:http2 and its write callbacks, about 25 µs each on a member
 * here. FramedMessages go to the call's HTTP/2 stream as they are, in order with the rest: they
 * pass through the same Writable queue, so grpc-js's end of the call (trailers) still comes after them.
 *
 * This reaches into grpc-js 1.14: without server interceptors `call.call` is its base call, whose
 * `stream` is the HTTP/2 stream. If an upgrade moves that, the first Watch fails this invariant
 * (and framed-messages.test does).
 */
export function acceptFramedMessages(call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>): void {
  const out = (call as unknown as { call?: { stream?: Partial<Http2Out> } }).call?.stream;
  invariant(typeof out?.write === 'function' && typeof out.destroyed === 'boolean' && typeof out.closed === 'boolean',
    'grpc-js server call without the HTTP/2 stream at call.stream');
  const http2 = out as Http2Out;
  const writable = call as unknown as { _write: WriteFn };
  const single = writable._write.bind(call);
  writable._write = (chunk, encoding, cb) => {
    if (!(chunk instanceof FramedMessages)) return single(chunk, encoding, cb);
    // A stream already gone takes nothing more, as grpc-js does with a single response.
    if (http2.destroyed || http2.closed) return cb();
    // The response headers go first; grpc-js sends them once, with the first response.
    call.sendMetadata(NO_METADATA);
    http2.write(chunk.bytes, (err) => cb(err ?? null));
  };
}
