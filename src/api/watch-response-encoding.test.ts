import assert from 'node:assert/strict';
import Long from 'long';
import type { WatchResponse__Output } from '../generated/etcdserverpb/WatchResponse';
import { etcdPackage } from '../wire/etcd-package';
import { encodeEventResponse, encodeHeaderField, encodeWatchIdField, OutgoingEvent } from './watch-response-encoding';

/** What a client makes of the bytes: the generated deserializer, as grpc-js runs it. */
function decode(bytes: Buffer): WatchResponse__Output {
  return etcdPackage.Watch.service.Watch.responseDeserialize(bytes) as WatchResponse__Output;
}

const kv = (key: string, fields: Partial<{ create: number; mod: number; version: number; value: string; lease: string }>) => ({
  key: Buffer.from(key), create_revision: fields.create ?? 0, mod_revision: fields.mod ?? 0, version: fields.version ?? 0,
  value: Buffer.from(fields.value ?? ''), lease: fields.lease ?? '0',
});

describe('watch response encoding', () => {
  const header = encodeHeaderField({
    cluster_id: Long.fromString('18446744073709551557', true), member_id: Long.fromString('9372538179322589801', true),
    raft_term: 7, revision: 2 ** 40,
  });

  it('decodes, with the generated deserializer, to the response the generated serializer would have sent', () => {
    const events: OutgoingEvent[] = [
      { type: 'PUT', kv: kv('a', { create: 5, mod: 2 ** 40, version: 3, value: 'v1', lease: '7587862072913418008' }) },
      { type: 'DELETE', kv: kv('b', { mod: 2 ** 40 }), prev_kv: kv('b', { create: 4, mod: 9, version: 1, value: 'old' }) },
    ];
    const got = decode(encodeEventResponse(header, encodeWatchIdField('12'), events, true));
    const want = decode(etcdPackage.Watch.service.Watch.responseSerialize({
      header: { cluster_id: '18446744073709551557', member_id: '9372538179322589801', raft_term: 7, revision: 2 ** 40 },
      watch_id: '12', fragment: true, events,
    }));
    assert.deepEqual(got, want);
    assert.equal(got.events[0]!.kv!.lease, '7587862072913418008');
    assert.equal(got.events[1]!.type, 'DELETE');
    assert.equal(got.events[1]!.prev_kv!.value.toString(), 'old');
    assert.equal(got.header!.revision, String(2 ** 40));
  });

  it('carries any int64 watch ID a client chose, negative or beyond 2^53', () => {
    const events: OutgoingEvent[] = [{ type: 'PUT', kv: kv('k', { create: 2, mod: 2, version: 1, value: 'x' }) }];
    for (const id of ['-5', '9223372036854775807', '300']) {
      assert.equal(decode(encodeEventResponse(header, encodeWatchIdField(id), events, false)).watch_id, id);
    }
  });

  it('leaves out what proto3 leaves out: watch ID 0, no fragment, a put event type', () => {
    const events: OutgoingEvent[] = [{ type: 'PUT', kv: kv('k', { create: 2, mod: 2, version: 1, value: 'x' }) }];
    const got = decode(encodeEventResponse(header, encodeWatchIdField('0'), events, false));
    assert.equal(got.watch_id, '0');
    assert.equal(got.fragment, false);
    assert.equal(got.events[0]!.type, 'PUT');
    assert.equal(got.events[0]!.prev_kv, null);
  });

  it('encodes an event shared by many watchers once, and one with a previous value each time', () => {
    const shared = kv('k', { create: 2, mod: 3, version: 2, value: 'x' });
    const first = encodeEventResponse(header, encodeWatchIdField('1'), [{ type: 'PUT', kv: shared }], false);
    const second = encodeEventResponse(header, encodeWatchIdField('2'), [{ type: 'PUT', kv: shared }], false);
    assert.deepEqual(decode(first).events, decode(second).events);
    const withPrev = decode(encodeEventResponse(header, encodeWatchIdField('3'), [{ type: 'PUT', kv: shared, prev_kv: kv('k', { create: 2, mod: 2, version: 1, value: 'w' }) }], false));
    assert.equal(withPrev.events[0]!.prev_kv!.value.toString(), 'w');
    const withoutPrev = decode(encodeEventResponse(header, encodeWatchIdField('4'), [{ type: 'PUT', kv: shared }], false));
    assert.equal(withoutPrev.events[0]!.prev_kv, null, 'the event with a previous value was cached for watchers without one');
  });
});
