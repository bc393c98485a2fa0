import type { ClientDuplexStream } from '@grpc/grpc-js';
import { EtcdClient } from '../../src/client/etcd-client';
import type { WatchRequest } from '../../src/generated/etcdserverpb/WatchRequest';
import type { WatchResponse__Output } from '../../src/generated/etcdserverpb/WatchResponse';
import { eventually } from '../../src/util/eventually';
import type { Recorder } from './history';
import { b } from './workload';

/** Every key: etcd's range from '\0' with range_end '\0'. */
const ALL = '\u0000';
/** A broken stream is opened again after this long (the member may be restarting). */
const REOPEN_AFTER_MS = 200;

/**
 * A watcher over every key on one member for the whole run, from revision 1. When its stream
 * breaks (the member was killed, restarted or wiped) it opens a new one from the revision after
 * the last event it got, as a resuming client does; each stream is a watcher of its own in the
 * history, so the watch checker holds each resumed stream to "no gaps from its start revision".
 */
export class MemberWatcher {
  private stopped = false;
  private stream: ClientDuplexStream<WatchRequest, WatchResponse__Output> | undefined;
  private current: number | undefined;
  private lastRevision = 0;
  private reopenTimer: NodeJS.Timeout | undefined;
  private readonly client: EtcdClient;
  /** Streams the server cancelled because their start revision was compacted away (for the report). */
  compactions = 0;

  constructor(private readonly recorder: Recorder, readonly member: string, endpoint: string) {
    this.client = new EtcdClient(endpoint);
  }

  start(): void {
    this.open();
  }

  /**
   * Waits until the current stream has delivered every event up to `revision` (the fence written
   * at the end) and records that it is complete to there.
   */
  async completeTo(revision: number, timeoutMs: number): Promise<void> {
    await eventually(`the watcher on ${this.member} reaches revision ${revision}`, () => this.lastRevision >= revision, timeoutMs);
    this.recorder.watchEnd(this.current!, revision);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.reopenTimer);
    this.stream?.cancel();
    this.client.close();
  }

  private open(): void {
    const from = this.lastRevision + 1;
    const stream = this.client.watchStream();
    this.stream = stream;
    const watcher = this.recorder.watchStart(this.member, ALL, ALL, from);
    this.current = watcher;
    const broken = () => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      stream.cancel();
      if (!this.stopped) this.reopenTimer = setTimeout(() => this.open(), REOPEN_AFTER_MS);
    };
    stream.on('data', (r: WatchResponse__Output) => {
      if (r.canceled) {
        // Only a compaction can cancel a watch here; resume from the oldest revision kept.
        if (Number(r.compact_revision) > 0) {
          this.compactions++;
          this.lastRevision = Number(r.compact_revision) - 1;
        }
        return broken();
      }
      for (const e of r.events) {
        const kv = e.kv!;
        const revision = Number(kv.mod_revision);
        this.recorder.watchEvent(watcher, e.type, kv.key.toString(), e.type === 'PUT' ? kv.value.toString() : '', revision);
        this.lastRevision = Math.max(this.lastRevision, revision);
      }
    });
    stream.on('error', broken);
    stream.on('end', broken);
    stream.write({ create_request: { key: b(ALL), range_end: b(ALL), start_revision: from } });
  }
}
