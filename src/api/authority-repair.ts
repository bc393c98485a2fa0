import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import * as hpack from 'hpack.js';

/**
 * etcdctl 3.4 dials the member URLs it gets from MemberList (`endpoint status --cluster`, `defrag
 * --cluster`, ...) as `passthrough:///http://host:port`, so its requests carry `:authority:
 * http://host:port`. etcd's Go server takes that; Node's HTTP/2 (nghttp2) resets such a stream
 * with PROTOCOL_ERROR before gRPC sees it, and offers no switch to relax the check. So the client
 * port looks at each connection's first request: when its authority is well formed (every client
 * but that one) the socket goes to gRPC untouched; otherwise the connection's header blocks are
 * decoded, the scheme is cut from the authority, and they are re-encoded on their way to gRPC.
 */

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const FRAME_HEADER_BYTES = 9;
const HEADERS = 0x1;
const CONTINUATION = 0x9;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;
/** HTTP/2's default SETTINGS_MAX_FRAME_SIZE, which every peer accepts. */
const MAX_FRAME_BYTES = 16_384;
/** HPACK's default dynamic table size, which the client's encoder starts from. */
const HPACK_TABLE_BYTES = 4096;

/** RFC 3986 authority characters, the set nghttp2 allows in `:authority`. */
const WELL_FORMED_AUTHORITY = /^[A-Za-z0-9\-._~!$&'()*+,;=:@[\]%]*$/;

/** `http://host:port` → `host:port`; anything else that is not well formed → the empty authority. */
export function repairAuthority(authority: string): string {
  const withoutScheme = authority.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/.*$/, '');
  return WELL_FORMED_AUTHORITY.test(withoutScheme) ? withoutScheme : '';
}

type HeaderField = hpack.HeaderField;

/** Splits a client's byte stream into its preface and whole frames. */
class FrameSplitter {
  private pending: Buffer = Buffer.alloc(0);
  private prefaceSeen = false;

  /** The preface (once) and every frame completed by `bytes`; throws if the stream is not HTTP/2. */
  feed(bytes: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? bytes : Buffer.concat([this.pending, bytes]);
    const out: Buffer[] = [];
    if (!this.prefaceSeen) {
      if (this.pending.length < PREFACE.length) return out;
      if (!this.pending.subarray(0, PREFACE.length).equals(PREFACE)) throw new Error('not an HTTP/2 connection preface');
      out.push(this.pending.subarray(0, PREFACE.length));
      this.pending = this.pending.subarray(PREFACE.length);
      this.prefaceSeen = true;
    }
    while (this.pending.length >= FRAME_HEADER_BYTES) {
      const length = this.pending.readUIntBE(0, 3);
      if (this.pending.length < FRAME_HEADER_BYTES + length) break;
      out.push(this.pending.subarray(0, FRAME_HEADER_BYTES + length));
      this.pending = this.pending.subarray(FRAME_HEADER_BYTES + length);
    }
    return out;
  }

  /** Bytes of a frame not yet complete. */
  get rest(): Buffer {
    return this.pending;
  }
}

const isPreface = (chunk: Buffer) => chunk.length === PREFACE.length && chunk.equals(PREFACE);

/**
 * Decodes a connection's header blocks in order, keeping the client encoder's dynamic table.
 * `add` takes a frame and returns the block's fields once its END_HEADERS frame is in, else
 * undefined; frames other than HEADERS and CONTINUATION are not its business.
 */
class HeaderBlocks {
  private block: { streamId: number; flags: number; fragments: Buffer[] } | undefined;
  private readonly decoder = hpack.decompressor.create({ table: { size: HPACK_TABLE_BYTES } });
  private decodeError: Error | undefined;

  constructor() {
    this.decoder.on('error', (err) => (this.decodeError = err));
  }

  add(frame: Buffer): { streamId: number; endStream: number; fields: HeaderField[] } | undefined {
    const flags = frame[4]!;
    let payload = frame.subarray(FRAME_HEADER_BYTES);
    if (frame[3] === HEADERS) {
      const padding = flags & PADDED ? payload[0]! : 0;
      payload = payload.subarray((flags & PADDED ? 1 : 0) + (flags & PRIORITY ? 5 : 0), payload.length - padding);
      this.block = { streamId: frame.readUInt32BE(5) & 0x7fffffff, flags, fragments: [payload] };
    } else if (this.block !== undefined) {
      this.block.fragments.push(payload);
    }
    if ((flags & END_HEADERS) === 0 || this.block === undefined) return undefined;
    const { streamId, flags: first, fragments } = this.block;
    this.block = undefined;
    this.decoder.write(Buffer.concat(fragments));
    this.decoder.execute();
    if (this.decodeError !== undefined) throw this.decodeError;
    const fields: HeaderField[] = [];
    for (let f = this.decoder.read(); f !== null; f = this.decoder.read()) fields.push({ name: f.name, value: f.value });
    return { streamId, endStream: first & END_STREAM, fields };
  }
}

const isHeaderFrame = (frame: Buffer) => frame[3] === HEADERS || frame[3] === CONTINUATION;

/**
 * The client-to-server byte stream of one HTTP/2 connection, frame by frame: header blocks are
 * decoded and re-encoded as plain literals with the authority repaired; other frames pass unchanged.
 */
export class AuthorityRewriter {
  private readonly frames = new FrameSplitter();
  private readonly blocks = new HeaderBlocks();

  /** Takes the next bytes from the client and returns the bytes to hand to the server. */
  feed(bytes: Buffer): Buffer {
    const out: Buffer[] = [];
    for (const chunk of this.frames.feed(bytes)) {
      if (isPreface(chunk) || !isHeaderFrame(chunk)) {
        out.push(chunk);
        continue;
      }
      const block = this.blocks.add(chunk);
      if (block === undefined) continue;
      const fields = block.fields.map((f) => (f.name === ':authority' ? { name: f.name, value: repairAuthority(f.value) } : f));
      out.push(...headerFrames(block.streamId, block.endStream, encodeLiterals(fields)));
    }
    return Buffer.concat(out);
  }
}

/** A header block as HEADERS plus CONTINUATION frames no larger than the default frame size. */
function headerFrames(streamId: number, endStream: number, block: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  for (let offset = 0, first = true; first || offset < block.length; first = false) {
    const chunk = block.subarray(offset, offset + MAX_FRAME_BYTES);
    offset += chunk.length;
    const header = Buffer.alloc(FRAME_HEADER_BYTES);
    header.writeUIntBE(chunk.length, 0, 3);
    header[3] = first ? HEADERS : CONTINUATION;
    header[4] = (first ? endStream : 0) | (offset >= block.length ? END_HEADERS : 0);
    header.writeUInt32BE(streamId, 5);
    frames.push(header, chunk);
  }
  return frames;
}

/**
 * Every field as a "literal without indexing, new name" with raw strings (RFC 7541 §6.2.2): it
 * leaves the server's dynamic table empty, so no table state has to be kept in step with it.
 */
function encodeLiterals(fields: HeaderField[]): Buffer {
  const bytes: number[] = [];
  const string = (s: string) => {
    const raw = Buffer.from(s, 'latin1');
    integer(raw.length, 7, 0x00);
    bytes.push(...raw);
  };
  const integer = (value: number, prefixBits: number, flags: number) => {
    const max = (1 << prefixBits) - 1;
    if (value < max) return void bytes.push(flags | value);
    bytes.push(flags | max);
    for (value -= max; value >= 0x80; value >>>= 7) bytes.push((value & 0x7f) | 0x80);
    bytes.push(value);
  };
  for (const f of fields) {
    bytes.push(0x00);
    string(f.name);
    string(f.value);
  }
  return Buffer.from(bytes);
}

const SETTINGS = 0x4;
const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;

/**
 * The SETTINGS frame the port sends as the server's preface: the defaults, and the stream limit
 * when there is one (gRPC's own SETTINGS, later, say the same), so a client knows it from the start.
 */
function prefaceSettings(maxConcurrentStreams: number | undefined): Buffer {
  if (maxConcurrentStreams === undefined) return Buffer.from([0, 0, 0, SETTINGS, 0, 0, 0, 0, 0]);
  const frame = Buffer.from([0, 0, 6, SETTINGS, 0, 0, 0, 0, 0, 0, SETTINGS_MAX_CONCURRENT_STREAMS, 0, 0, 0, 0]);
  frame.writeUInt32BE(maxConcurrentStreams, 11);
  return frame;
}
const ACK = 0x1;
/** How long a client that is connected but sends no request may wait for gRPC to answer its pings. */
const IDLE_HANDOVER_MS = 1000;

/**
 * Hands a new client connection to gRPC (`inject`), repairing its authority when its first request
 * needs it. The socket itself goes to gRPC when the first request is well formed (every client but
 * etcdctl's maintenance dials): its bytes so far are put back, and nothing sits in the way of its
 * later traffic.
 *
 * Go clients send no request before the server's SETTINGS, and gRPC's cannot be had without handing
 * the socket over; so the port answers with a SETTINGS of its own and removes the client's ACK of
 * it, which gRPC would otherwise take for an ACK it never asked for.
 */
export function acceptConnection(socket: Socket, inject: (connection: Duplex) => void, maxConcurrentStreams?: number): void {
  const frames = new FrameSplitter();
  const blocks = new HeaderBlocks();
  const forServer: Buffer[] = [];
  const raw: Buffer[] = [];
  let firstRequest: HeaderField[] | undefined;
  let ackRemoved = false;
  let settled = false;
  let idle: NodeJS.Timeout | undefined;
  /** Stops listening, puts back what gRPC must still read from the socket, and hands over. */
  const handOver = (connection: Duplex, putBack: Buffer) => {
    settled = true;
    clearTimeout(idle);
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('error', onError);
    socket.pause();
    if (putBack.length > 0) socket.unshift(putBack);
    inject(connection);
  };
  const passThrough = () => {
    if (!settled) handOver(socket, Buffer.concat([...forServer, frames.rest]));
  };
  const onData = (bytes: Buffer) => {
    raw.push(bytes);
    let chunks: Buffer[];
    try {
      chunks = frames.feed(bytes);
      for (const chunk of chunks) {
        if (!ackRemoved && chunk[3] === SETTINGS && (chunk[4]! & ACK) !== 0 && !isPreface(chunk)) {
          ackRemoved = true;
          continue;
        }
        forServer.push(chunk);
        if (firstRequest === undefined && !isPreface(chunk) && isHeaderFrame(chunk)) firstRequest = blocks.add(chunk)?.fields;
      }
    } catch {
      // Not HTTP/2, or a broken header block: gRPC answers it as it would anyway.
      return handOver(socket, Buffer.concat(raw));
    }
    if (!ackRemoved) return;
    if (firstRequest === undefined) {
      // Connected ahead of its first call (or pinging): gRPC must answer it before long.
      idle ??= setTimeout(passThrough, IDLE_HANDOVER_MS).unref();
      return;
    }
    const authority = firstRequest.find((f) => f.name === ':authority')?.value ?? '';
    if (repairAuthority(authority) === authority) return passThrough();
    const rewriter = new AuthorityRewriter();
    handOver(new RewritingConnection(socket, rewriter, rewriter.feed(Buffer.concat([...forServer, frames.rest]))), Buffer.alloc(0));
  };
  const onEnd = () => passThrough();
  // A client that resets the connection before its first call leaves nothing to hand over.
  const onError = () => {
    settled = true;
    clearTimeout(idle);
    socket.destroy();
  };
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.once('error', onError);
  socket.write(prefaceSettings(maxConcurrentStreams));
}

/** The socket as gRPC sees it when its header blocks are rewritten; the server's replies pass as they are. */
class RewritingConnection extends Duplex {
  constructor(private readonly socket: Socket, rewriter: AuthorityRewriter, alreadyRewritten: Buffer) {
    super();
    this.push(alreadyRewritten);
    socket.on('data', (bytes: Buffer) => {
      let out: Buffer;
      try {
        out = rewriter.feed(bytes);
      } catch (err) {
        this.destroy(err as Error);
        return;
      }
      if (!this.push(out)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.socket.write(chunk, done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.socket.end(done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.socket.destroy();
    done(err);
  }
}
