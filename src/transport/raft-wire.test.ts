import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as protobuf from 'protobufjs';
import type { Message } from '../raft/types';
import { PROTO_DIR } from '../util/paths';
import { decodeMessageBatch, encodeMessageBatch } from './raft-wire';

const BIG_ID = 0xfedc_ba98_7654_3210n; // above 2^63: every bit of a uint64 must survive
const messages: Message[] = [
  {
    type: 'MsgApp', to: BIG_ID, from: 1n, term: 7, logTerm: 6, index: 2 ** 40, commit: 2 ** 40 - 3, reject: false, rejectHint: 0,
    entries: [
      { term: 7, index: 2 ** 40 + 1, type: 'normal', data: Buffer.from('put a') },
      { term: 7, index: 2 ** 40 + 2, type: 'conf-change', data: Buffer.alloc(300, 9) },
      { term: 7, index: 2 ** 40 + 3, type: 'normal', data: new Uint8Array() },
    ],
  },
  { type: 'MsgAppResp', to: 1n, from: BIG_ID, term: 7, logTerm: 0, index: 12, entries: [], commit: 0, reject: true, rejectHint: 9 },
  { type: 'MsgHeartbeat', to: 2n, from: 1n, term: 7, logTerm: 0, index: 0, entries: [], commit: 11, reject: false, rejectHint: 0, context: Buffer.from([1, 2, 3]) },
  { type: 'MsgVote', to: 2n, from: 3n, term: 8, logTerm: 7, index: 12, entries: [], commit: 0, reject: false, rejectHint: 0, context: new Uint8Array() },
  {
    type: 'MsgSnap', to: 2n, from: 1n, term: 7, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0,
    snapshot: { metadata: { index: 500, term: 6, confState: { voters: [1n, BIG_ID], learners: [3n] } }, data: new Uint8Array() },
  },
];

/** The same messages as proto-loader's objects (uint64 as decimal strings), for the generic encoder. */
function generic(m: Message) {
  return {
    type: m.type, to: m.to.toString(), from: m.from.toString(), term: m.term, log_term: m.logTerm, index: m.index,
    entries: m.entries.map((e) => ({ term: e.term, index: e.index, type: e.type === 'normal' ? 'NORMAL' : 'CONF_CHANGE', data: e.data })),
    commit: m.commit, reject: m.reject, reject_hint: m.rejectHint,
    snapshot: m.snapshot && {
      index: m.snapshot.metadata.index, term: m.snapshot.metadata.term,
      conf_state: { voters: m.snapshot.metadata.confState.voters.map(String), learners: m.snapshot.metadata.confState.learners.map(String) },
    },
    context: m.context ?? new Uint8Array(), has_context: m.context !== undefined,
  };
}

/** As `generic`, without the fields proto3 leaves out when they hold their default (protobufjs writes any field given). */
function canonical(m: Message) {
  const all: Record<string, unknown> = generic(m);
  const omit = (v: unknown) => v === 0 || v === false || v === '0' || (v instanceof Uint8Array && v.length === 0) || (Array.isArray(v) && v.length === 0);
  const kept = Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined && !omit(v)));
  kept['entries'] = m.entries.map((e) => Object.fromEntries(Object.entries(generic({ ...m, entries: [e] }).entries[0]!).filter(([k, v]) => !omit(v) && !(k === 'type' && v === 'NORMAL'))));
  if (kept['snapshot']) {
    const s = kept['snapshot'] as { index: number; term: number; conf_state: object };
    kept['snapshot'] = { conf_state: s.conf_state, ...(s.index !== 0 && { index: s.index }), ...(s.term !== 0 && { term: s.term }) };
  }
  return kept;
}

const plain = (ms: Message[]) => ms.map((m) => ({ ...m, entries: m.entries.map((e) => ({ ...e, data: Buffer.from(e.data) })), ...(m.context && { context: Buffer.from(m.context) }) }));

/** raft.proto's MessageBatch as protobufjs reads and writes it: the reference the hand codec must match. */
function protobufBatch() {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
  root.loadSync('keelpb/raft.proto', { keepCase: true });
  const type = root.lookupType('keelpb.MessageBatch');
  return {
    requestSerialize: (batch: object) => Buffer.from(type.encode(type.fromObject(batch)).finish()),
    requestDeserialize: (bytes: Uint8Array) => type.toObject(type.decode(bytes), { longs: String, enums: String, defaults: true }),
  };
}

describe('raft messages on the peer wire', () => {
  const stream = protobufBatch();

  it('decode to what was encoded, 64-bit IDs and indexes past 2^32 included', () => {
    assert.deepEqual(plain(decodeMessageBatch(encodeMessageBatch(messages))), plain(messages));
  });

  it('read what protobuf writes from raft.proto', () => {
    const bytes = stream.requestSerialize({ messages: messages.map(generic) });
    assert.deepEqual(plain(decodeMessageBatch(bytes)), plain(messages));
  });

  it('write what protobuf reads back as the same message', () => {
    const decoded = stream.requestDeserialize(encodeMessageBatch(messages)) as { messages: unknown[] };
    const expected = stream.requestDeserialize(stream.requestSerialize({ messages: messages.map(generic) })) as { messages: unknown[] };
    assert.deepEqual(decoded, expected);
  });

  it('write the very bytes protobuf writes for the same messages', () => {
    assert.equal(encodeMessageBatch(messages).toString('hex'), stream.requestSerialize({ messages: messages.map(canonical) }).toString('hex'));
  });

  it('skip fields it does not know and refuse bytes cut short', () => {
    const known = encodeMessageBatch([messages[1]!]);
    // Field 15 (varint 5) appended inside the message: a newer member's field.
    const inner = Buffer.concat([known.subarray(2), Buffer.from([15 << 3, 5])]);
    const withUnknown = Buffer.concat([Buffer.from([0x0a, inner.length]), inner]);
    assert.deepEqual(decodeMessageBatch(withUnknown), [messages[1]]);
    for (let cut = 1; cut < known.length; cut++) {
      assert.throws(() => decodeMessageBatch(known.subarray(0, cut)), /cut short|malformed/, `cut at ${cut}`);
    }
  });
});
