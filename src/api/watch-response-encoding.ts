import { Writer } from 'protobufjs/minimal';
import { encodeKeyValue, KeyValue } from '../mvcc/key-value';
import type { HeaderFields } from '../server/keel-server';
import { delimitedSize, LENGTH_DELIMITED, ProtoWriter, tag, VARINT } from '../util/proto-writer';
import { etcdPackage } from '../wire/etcd-package';

/**
 * Event responses of the Watch stream, encoded by hand. One put to a key a thousand watchers share
 * makes a thousand responses that differ only in their watch ID, and grpc-js's serializer (plain
 * object → protobufjs message → bytes) cost a member 11 % of its time in that fan-out. Here each
 * event is encoded once, whichever watchers it goes to, each stream encodes its header field once
 * per revision and each watcher its watch ID field once; a response is those parts copied into
 * one buffer.
 */

/** An event as a watcher gets it; `prev_kv` only for watchers that asked for it. */
export interface OutgoingEvent {
  type: 'PUT' | 'DELETE';
  kv: KeyValue;
  prev_kv?: KeyValue;
}

// Field numbers and wire types of etcdserverpb.WatchResponse, ResponseHeader and mvccpb.Event.
const RESPONSE_HEADER = tag(1, LENGTH_DELIMITED);
const RESPONSE_WATCH_ID = tag(2, VARINT);
const RESPONSE_FRAGMENT = tag(7, VARINT);
const RESPONSE_EVENTS_FIELD = 11;
const HEADER_CLUSTER_ID = tag(1, VARINT);
const HEADER_MEMBER_ID = tag(2, VARINT);
const HEADER_REVISION = tag(3, VARINT);
const HEADER_RAFT_TERM = tag(4, VARINT);
const EVENT_TYPE = tag(1, VARINT);
const EVENT_KV = tag(2, LENGTH_DELIMITED);
const EVENT_PREV_KV = tag(3, LENGTH_DELIMITED);
const EVENT_TYPE_DELETE = 1; // PUT is 0, proto3's default, and is left out

/** Events without a previous value, by the stored change they carry, which every watcher shares. */
const encodedEvents = new WeakMap<KeyValue, Uint8Array>();

function encodeEvent(e: OutgoingEvent): Uint8Array {
  if (e.prev_kv === undefined) {
    const cached = encodedEvents.get(e.kv);
    if (cached !== undefined) return cached;
  }
  const w = Writer.create();
  if (e.type === 'DELETE') w.uint32(EVENT_TYPE).int32(EVENT_TYPE_DELETE);
  w.uint32(EVENT_KV).bytes(encodeKeyValue(e.kv));
  if (e.prev_kv !== undefined) w.uint32(EVENT_PREV_KV).bytes(encodeKeyValue(e.prev_kv));
  const bytes = w.finish();
  if (e.prev_kv === undefined) encodedEvents.set(e.kv, bytes);
  return bytes;
}

/** A WatchResponse's header field: the tag, the length and the ResponseHeader. */
export function encodeHeaderField(h: HeaderFields & { revision: number }): Uint8Array {
  const header = Writer.create();
  header.uint32(HEADER_CLUSTER_ID).uint64(h.cluster_id);
  header.uint32(HEADER_MEMBER_ID).uint64(h.member_id);
  if (h.revision !== 0) header.uint32(HEADER_REVISION).int64(h.revision);
  if (h.raft_term !== 0) header.uint32(HEADER_RAFT_TERM).uint64(h.raft_term);
  return Writer.create().uint32(RESPONSE_HEADER).bytes(header.finish()).finish();
}

/** A WatchResponse's watch_id field; nothing for ID 0, which proto3 leaves out. */
export function encodeWatchIdField(watchId: string): Uint8Array {
  return watchId === '0' ? new Uint8Array() : Writer.create().uint32(RESPONSE_WATCH_ID).int64(watchId).finish();
}

const FRAGMENT_FIELD = Uint8Array.of(RESPONSE_FRAGMENT, 1);

/** A WatchResponse carrying events, from its header and watch ID fields already encoded. */
export function encodeEventResponse(headerField: Uint8Array, watchIdField: Uint8Array, events: OutgoingEvent[], fragment: boolean): Buffer {
  const encoded = events.map(encodeEvent);
  let size = headerField.length + watchIdField.length + (fragment ? FRAGMENT_FIELD.length : 0);
  for (const e of encoded) size += delimitedSize(e.length);
  const out = new ProtoWriter(Buffer.allocUnsafe(size));
  out.raw(headerField);
  out.raw(watchIdField);
  if (fragment) out.raw(FRAGMENT_FIELD);
  for (const e of encoded) {
    out.delimited(RESPONSE_EVENTS_FIELD, e.length);
    out.raw(e);
  }
  return out.buf;
}

const generatedSerialize = etcdPackage.Watch.service.Watch!.responseSerialize as (value: unknown) => Buffer;

/**
 * A Watch response's bytes: one already encoded (a Buffer) as it is, any other through the
 * generated serializer. The stream frames them itself (FramedMessages), so grpc-js's serializer
 * never sees a response of ours.
 */
export function serializeWatchResponse(value: unknown): Buffer {
  return Buffer.isBuffer(value) ? value : generatedSerialize(value);
}
