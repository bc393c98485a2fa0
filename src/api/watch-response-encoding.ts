import * as grpc from '@grpc/grpc-js';
import { Writer } from 'protobufjs/minimal';
import { encodeKeyValue, KeyValue } from '../mvcc/key-value';
import type { HeaderFields } from '../server/keel-server';
import { asBuffer } from '../util/bytes';
import { etcdPackage } from '../wire/etcd-package';

/**
 * Event responses of the Watch stream, encoded by hand. One put to a key a thousand watchers share
 * makes a thousand responses that differ only in their watch ID, and grpc-js's serializer (plain
 * object → protobufjs message → bytes) cost a member 11 % of its time in that fan-out. Here each
 * event is encoded once, whichever watchers it goes to, and each stream encodes a header once per
 * revision; a response is those bytes with its watch ID between them.
 */

/** An event as a watcher gets it; `prev_kv` only for watchers that asked for it. */
export interface OutgoingEvent {
  type: 'PUT' | 'DELETE';
  kv: KeyValue;
  prev_kv?: KeyValue;
}

// Field numbers and wire types of etcdserverpb.WatchResponse, ResponseHeader and mvccpb.Event.
const VARINT = 0;
const BYTES = 2;
const tag = (field: number, wireType: number) => (field << 3) | wireType;
const RESPONSE_HEADER = tag(1, BYTES);
const RESPONSE_WATCH_ID = tag(2, VARINT);
const RESPONSE_FRAGMENT = tag(7, VARINT);
const RESPONSE_EVENTS = tag(11, BYTES);
const HEADER_CLUSTER_ID = tag(1, VARINT);
const HEADER_MEMBER_ID = tag(2, VARINT);
const HEADER_REVISION = tag(3, VARINT);
const HEADER_RAFT_TERM = tag(4, VARINT);
const EVENT_TYPE = tag(1, VARINT);
const EVENT_KV = tag(2, BYTES);
const EVENT_PREV_KV = tag(3, BYTES);
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

export function encodeHeader(h: HeaderFields & { revision: number }): Uint8Array {
  const w = Writer.create();
  w.uint32(HEADER_CLUSTER_ID).uint64(h.cluster_id);
  w.uint32(HEADER_MEMBER_ID).uint64(h.member_id);
  if (h.revision !== 0) w.uint32(HEADER_REVISION).int64(h.revision);
  if (h.raft_term !== 0) w.uint32(HEADER_RAFT_TERM).uint64(h.raft_term);
  return w.finish();
}

/** A WatchResponse carrying events, from its header already encoded (encodeHeader). */
export function encodeEventResponse(header: Uint8Array, watchId: string, events: OutgoingEvent[], fragment: boolean): Buffer {
  const w = Writer.create();
  w.uint32(RESPONSE_HEADER).bytes(header);
  if (watchId !== '0') w.uint32(RESPONSE_WATCH_ID).int64(watchId);
  if (fragment) w.uint32(RESPONSE_FRAGMENT).bool(true);
  for (const e of events) w.uint32(RESPONSE_EVENTS).bytes(encodeEvent(e));
  return asBuffer(w.finish());
}

const generatedService = etcdPackage.Watch.service;
const generatedSerialize = generatedService.Watch!.responseSerialize as (value: unknown) => Buffer;

/** A Watch response's bytes: one already encoded (a Buffer) as it is, any other through the generated serializer. */
export function serializeWatchResponse(value: unknown): Buffer {
  return Buffer.isBuffer(value) ? value : generatedSerialize(value);
}

/** The Watch service as the server registers it, with serializeWatchResponse. */
export const WATCH_SERVICE: grpc.ServiceDefinition = {
  ...generatedService,
  Watch: { ...generatedService.Watch!, responseSerialize: serializeWatchResponse },
};
