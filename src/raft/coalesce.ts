import type { Entry, Message, NodeId } from './types';

/**
 * A Ready's messages with each peer's runs of appends and of forwarded proposals joined, up to
 * `maxBytes` of entry data a message.
 *
 * A leader steps proposals one at a time and sends every follower an append for each, and a
 * follower forwards each of its clients' proposals as it comes. Under etcdctl's `check perf` a
 * follower took 33 appends in one read of its socket, stepped each, wrote each to its log and
 * answered each: the leader got 890,000 append answers for 230,000 puts. Joined, the follower
 * steps, writes and answers once. An append joins the one before it to the same peer only when
 * it goes on right where that one ends, so the follower sees exactly the log it would have seen
 * message by message; the joined append carries the later commit index, which is never lower.
 * Per peer the order of messages is kept; messages to different peers keep no order, as they
 * leave on different connections anyway.
 */
export function coalesce(messages: Message[], maxBytes: number): Message[] {
  if (messages.length < 2) return messages;
  const out: Message[] = [];
  // The message last put out to each peer, with its entries' data size, while it can take more.
  const open = new Map<NodeId, { m: Message; bytes: number }>();
  for (const m of messages) {
    const last = open.get(m.to);
    const bytes = dataBytes(m.entries);
    if (last !== undefined && joins(last.m, m) && last.bytes + bytes <= maxBytes) {
      last.m.entries = last.m.entries.concat(m.entries);
      last.m.commit = Math.max(last.m.commit, m.commit);
      last.bytes += bytes;
      continue;
    }
    out.push(m);
    if (m.type === 'MsgApp' || m.type === 'MsgProp') open.set(m.to, { m, bytes });
    else open.delete(m.to);
  }
  return out;
}

/** Whether `next` may be folded into `prev`, the last message to the same peer. */
function joins(prev: Message, next: Message): boolean {
  if (prev.type !== next.type || prev.term !== next.term) return false;
  if (next.type === 'MsgProp') return true;
  if (next.type !== 'MsgApp') return false;
  const prevLast = prev.entries[prev.entries.length - 1];
  const endIndex = prev.index + prev.entries.length;
  const endTerm = prevLast === undefined ? prev.logTerm : prevLast.term;
  return next.index === endIndex && next.logTerm === endTerm;
}

function dataBytes(entries: Entry[]): number {
  let bytes = 0;
  for (const e of entries) bytes += e.data.length;
  return bytes;
}
