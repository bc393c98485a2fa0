/**
 * How long a Raft stream may go without a byte from the other side before it counts as dead, as
 * etcd's peer connections time out reads (rafthttp's ConnReadTimeout, 5 s). Without it a peer
 * whose host vanished without a reset, or a link that drops everything, kept its stream open
 * until TCP gave up retransmitting (about 15 minutes): messages went into a socket nobody read,
 * and a restarted peer was not reached again until a retransmission drew its reset.
 */
export const LINK_TIMEOUT_MS = 5000;

/** Ticks per timeout: each side says something at least once a tick, so silence for all of them is a dead link. */
const TICKS_PER_TIMEOUT = 4;

/**
 * Keeps one end of a Raft stream alive and watches the other. Every tick, an end that wrote
 * nothing since the last one pings (an empty frame: a batch of no messages); an end that heard
 * nothing for a whole timeout's ticks calls `dead`. Silence is counted in ticks, not measured on
 * the clock, so an event loop held up for seconds (a long GC, a big install) does not mistake the
 * bytes waiting in its socket for silence.
 *
 * Each end pings as the stream opens, and starts watching with the first ping it hears: a peer
 * of an older build never pings, and its idle streams must not be cut.
 */
export class LinkLiveness {
  private readonly timer: NodeJS.Timeout;
  private quietTicks = 0;
  private wroteSinceTick = false;
  private armed = false;

  constructor(timeoutMs: number, ping: () => void, dead: () => void) {
    ping();
    this.timer = setInterval(() => {
      if (!this.wroteSinceTick) ping();
      this.wroteSinceTick = false;
      if (this.armed && ++this.quietTicks >= TICKS_PER_TIMEOUT) {
        this.stop();
        dead();
      }
    }, timeoutMs / TICKS_PER_TIMEOUT).unref();
  }

  /** Bytes came from the other side; `ping` says whether they were a ping, which starts the watch. */
  heard(ping: boolean): void {
    this.quietTicks = 0;
    if (ping) this.armed = true;
  }

  wrote(): void {
    this.wroteSinceTick = true;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
