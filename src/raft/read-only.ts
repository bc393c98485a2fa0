import { toKeyString } from '../util/bytes';
import { Message, NodeId } from './types';

interface ReadIndexStatus {
  req: Message;
  index: number;
  acks: Set<NodeId>;
}

/**
 * Pending ReadIndex requests on the leader (etcd's ReadOnlySafe): each waits until a quorum has
 * answered a heartbeat that carried its context, which proves this node was still the leader.
 * One heartbeat round confirms every request queued before it.
 */
export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  addRequest(index: number, m: Message): void {
    const key = ctxKey(m.entries[0]!.data);
    if (this.pending.has(key)) return;
    this.pending.set(key, { index, req: m, acks: new Set() });
    this.queue.push(key);
  }

  /** Records a heartbeat ack; returns who has acked that request so far. */
  recvAck(from: NodeId, context: Uint8Array): Set<NodeId> | undefined {
    const rs = this.pending.get(ctxKey(context));
    if (rs === undefined) return undefined;
    rs.acks.add(from);
    return rs.acks;
  }

  /** Releases every request up to and including the one with this context. */
  advance(context: Uint8Array): ReadIndexStatus[] {
    const key = ctxKey(context);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const released = this.queue.slice(0, at + 1).map((k) => this.pending.get(k)!);
    for (const k of this.queue.slice(0, at + 1)) this.pending.delete(k);
    this.queue = this.queue.slice(at + 1);
    return released;
  }

  lastPendingRequestCtx(): Uint8Array | undefined {
    const key = this.queue[this.queue.length - 1];
    return key === undefined ? undefined : this.pending.get(key)!.req.entries[0]!.data;
  }
}

function ctxKey(ctx: Uint8Array): string {
  return toKeyString(ctx);
}
