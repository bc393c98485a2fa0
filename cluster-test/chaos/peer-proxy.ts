import { createConnection, createServer, Server, Socket } from 'node:net';

/**
 * The network between members, under the chaos runner's control: an HTTP CONNECT proxy that every
 * member's peer traffic goes through. Each member gets a listening port of its own and is started
 * with grpc_proxy pointing at it (grpc-js honours that variable for every channel it opens), so a
 * tunnel's source is the port it came in on and its destination the CONNECT target: the proxy knows
 * the direction pair of every connection without any change to Keel or its flags.
 *
 * A link is the direction "from opens connections to to"; Raft's messages from A to B travel only
 * on connections A opened. A cut link resets its open tunnels and refuses new ones (as a dropped
 * route does, seen from gRPC: the peer is unreachable until healed). A silent link drops everything
 * without a word, as a firewall dropping packets does: its tunnels hold every byte both ways, and
 * new tunnels get no answer, until healed; then what was held goes on in order, as TCP would
 * retransmit it (to whichever end has not given up meanwhile). A slow link delays every chunk in
 * both directions of its tunnels, keeping their order, and an orderly close (FIN) after them.
 */
export class PeerProxy {
  private readonly servers: Server[] = [];
  /** Peer port of each member → its name, to name a CONNECT target. */
  private readonly memberAt = new Map<number, string>();
  private readonly cutLinks = new Set<string>();
  private readonly silentLinks = new Set<string>();
  /** Tunnels asked for on a silent link, answered once it heals. */
  private readonly unanswered = new Map<string, Array<() => void>>();
  private readonly delays = new Map<string, number>();
  private readonly tunnels = new Map<string, Set<Tunnel>>();
  /** Tunnels ever opened per link, for the tests: proof that traffic really goes through here. */
  private readonly opened = new Map<string, number>();

  /** Opens the proxy port that member `from` will use for everything it dials. */
  async listenFor(from: string): Promise<number> {
    // Half-open allowed: a side's FIN is passed on after the bytes before it, not at once.
    const server = createServer({ allowHalfOpen: true }, (client) => this.accept(from, client));
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    return (server.address() as { port: number }).port;
  }

  /** Connections to `port` are connections to member `name` (again after a wipe, with the same port). */
  setPeerPort(name: string, port: number): void {
    this.memberAt.set(port, name);
  }

  cut(from: string, to: string): void {
    const link = linkOf(from, to);
    this.cutLinks.add(link);
    for (const t of this.tunnels.get(link) ?? []) t.destroy();
  }

  silence(from: string, to: string): void {
    this.silentLinks.add(linkOf(from, to));
  }

  heal(from: string, to: string): void {
    const link = linkOf(from, to);
    this.cutLinks.delete(link);
    this.unsilence(link);
  }

  setDelay(from: string, to: string, ms: number): void {
    if (ms > 0) this.delays.set(linkOf(from, to), ms);
    else this.delays.delete(linkOf(from, to));
  }

  /** Every link up and fast again. */
  healAll(): void {
    this.cutLinks.clear();
    this.delays.clear();
    for (const link of [...this.silentLinks]) this.unsilence(link);
  }

  private unsilence(link: string): void {
    if (!this.silentLinks.delete(link)) return;
    for (const t of this.tunnels.get(link) ?? []) t.release();
    for (const answer of this.unanswered.get(link) ?? []) answer();
    this.unanswered.delete(link);
  }

  tunnelsOpened(from: string, to: string): number {
    return this.opened.get(linkOf(from, to)) ?? 0;
  }

  async close(): Promise<void> {
    for (const set of this.tunnels.values()) for (const t of set) t.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private accept(from: string, client: Socket): void {
    client.on('error', () => { /* a member killed mid-stream; its tunnel goes with it */ });
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 8192) client.destroy();
        return;
      }
      client.off('data', onData);
      client.off('end', closedEarly);
      client.pause();
      const target = /^CONNECT ([^\s:]+):(\d+) HTTP\/1\.[01]\r\n/.exec(head.subarray(0, end).toString('latin1'));
      if (!target) {
        client.end('HTTP/1.1 405 Method Not Allowed\r\n\r\n');
        return;
      }
      this.open(from, client, target[1]!, Number(target[2]), head.subarray(end + 4));
    };
    // Half-open sockets are not closed for us: one that ends before its tunnel opens is closed here.
    const closedEarly = () => client.end();
    client.on('data', onData);
    client.once('end', closedEarly);
  }

  private open(from: string, client: Socket, host: string, port: number, rest: Buffer): void {
    const to = this.memberAt.get(port);
    // Anything that is not a member's peer port (a client URL, say) passes through untouched.
    const link = to === undefined ? undefined : linkOf(from, to);
    if (link !== undefined && this.cutLinks.has(link)) {
      client.destroy();
      return;
    }
    if (link !== undefined && this.silentLinks.has(link)) {
      const waiting = this.unanswered.get(link) ?? [];
      this.unanswered.set(link, waiting);
      waiting.push(() => {
        if (!client.destroyed) this.open(from, client, host, port, rest);
      });
      return;
    }
    const upstream = createConnection({ host, port, allowHalfOpen: true });
    const tunnel = new Tunnel(client, upstream, {
      delayMs: () => (link === undefined ? 0 : this.delays.get(link) ?? 0),
      silent: () => link !== undefined && this.silentLinks.has(link),
    });
    let set: Set<Tunnel> | undefined;
    if (link !== undefined) {
      set = this.tunnels.get(link) ?? new Set();
      this.tunnels.set(link, set);
      set.add(tunnel);
      this.opened.set(link, (this.opened.get(link) ?? 0) + 1);
    }
    tunnel.onClose(() => set?.delete(tunnel));
    upstream.once('connect', () => {
      // The link may have been cut while this tunnel was dialing.
      if (link !== undefined && this.cutLinks.has(link)) return tunnel.destroy();
      client.write('HTTP/1.1 200 Connection established\r\n\r\n');
      tunnel.start(rest);
    });
  }
}

function linkOf(from: string, to: string): string {
  return `${from}>${to}`;
}

/** What a link does to the bytes of its tunnels now. */
interface LinkState {
  delayMs(): number;
  /** Holds every byte until it says otherwise. */
  silent(): boolean;
}

/**
 * One proxied connection: bytes both ways, each chunk held back by the link's current delay (or
 * for as long as it is silent), and a side's orderly close passed on after them. An error on either side resets both: a sender
 * whose receiver answered and closed (a snapshot stream's ending) must still get the answer.
 */
class Tunnel {
  private closed = false;
  private readonly closeHandlers: Array<() => void> = [];
  private readonly writers: DelayedWriter[] = [];

  constructor(private readonly client: Socket, private readonly upstream: Socket, private readonly link: LinkState) {
    let open = 2;
    for (const s of [client, upstream]) {
      s.on('error', () => this.destroy());
      s.on('close', (hadError) => {
        if (hadError) this.destroy();
        else if (--open === 0) this.finished();
      });
    }
  }

  start(rest: Buffer): void {
    const toUpstream = new DelayedWriter(this.upstream, this.link);
    const toClient = new DelayedWriter(this.client, this.link);
    this.writers.push(toUpstream, toClient);
    if (rest.length > 0) toUpstream.write(rest);
    this.client.on('data', (c: Buffer) => toUpstream.write(c));
    this.upstream.on('data', (c: Buffer) => toClient.write(c));
    this.client.on('end', () => toUpstream.end());
    this.upstream.on('end', () => toClient.end());
    this.client.resume();
  }

  /** The link spoke again: what it held goes on. */
  release(): void {
    for (const w of this.writers) w.release();
  }

  onClose(handler: () => void): void {
    this.closeHandlers.push(handler);
  }

  destroy(): void {
    if (this.closed) return;
    // Reset rather than FIN: a cut link loses what was in flight.
    this.client.resetAndDestroy();
    this.upstream.resetAndDestroy();
    this.finished();
  }

  private finished(): void {
    if (this.closed) return;
    this.closed = true;
    for (const h of this.closeHandlers) h();
  }
}

/** Writes chunks to `out` after a delay, or once the link is no longer silent, never reordering them even when the delay shrinks. */
class DelayedWriter {
  /** Chunks due, in order; `end` in place of a chunk closes `out` when its turn comes. */
  private readonly queue: Array<{ dueAt: number; chunk: Buffer | 'end' }> = [];
  private lastDue = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: Socket, private readonly link: LinkState) {}

  write(chunk: Buffer): void {
    this.enqueue(chunk);
  }

  /** The other side's orderly close, after what it sent before it. */
  end(): void {
    this.enqueue('end');
  }

  /** What a silence held is due now. */
  release(): void {
    this.schedule();
  }

  private enqueue(chunk: Buffer | 'end'): void {
    const delay = this.link.delayMs();
    if (delay === 0 && this.queue.length === 0 && !this.link.silent()) {
      this.pass(chunk);
      return;
    }
    this.lastDue = Math.max(Date.now() + delay, this.lastDue);
    this.queue.push({ dueAt: this.lastDue, chunk });
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.queue.length === 0 || this.link.silent()) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      while (this.queue.length > 0 && this.queue[0]!.dueAt <= Date.now() && !this.link.silent()) {
        this.pass(this.queue.shift()!.chunk);
      }
      this.schedule();
    }, Math.max(0, this.queue[0]!.dueAt - Date.now()));
  }

  private pass(chunk: Buffer | 'end'): void {
    if (this.out.destroyed) return;
    if (chunk === 'end') this.out.end();
    else this.out.write(chunk);
  }
}
