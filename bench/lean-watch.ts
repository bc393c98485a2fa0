import * as grpc from '@grpc/grpc-js';
import { Reader } from 'protobufjs/minimal';
import { etcdPackage } from '../src/wire/etcd-package';
import { NO_CHANNELZ } from '../src/util/grpc-options';

/** What the watch row needs of a WatchResponse: whether it answers a create, and its events' versions. */
export interface LeanWatchResponse {
  created: boolean;
  versions: number[];
}

// Field numbers of etcdserverpb.WatchResponse, mvccpb.Event and mvccpb.KeyValue.
const RESPONSE_CREATED = 3;
const RESPONSE_EVENTS = 11;
const EVENT_KV = 2;
const KV_VERSION = 4;

/**
 * A Watch client for the bench that decodes only what the row measures. The full client turns every
 * int64 of every header and event into a string (long.js), which cost the bench about 10 µs per event
 * and made it, not the servers, the limit of the fan-out row.
 */
export function leanWatchStream(endpoint: string): grpc.ClientDuplexStream<object, LeanWatchResponse> {
  const generated = etcdPackage.Watch.service.Watch!;
  const service: grpc.ServiceDefinition = {
    Watch: { ...generated, responseDeserialize: (bytes: Buffer) => decodeLean(bytes) },
  };
  const Client = grpc.makeGenericClientConstructor(service, 'Watch');
  const client = new Client(endpoint, grpc.credentials.createInsecure(), { ...NO_CHANNELZ, 'grpc.use_local_subchannel_pool': 1 });
  const stream = (client as unknown as { Watch(): grpc.ClientDuplexStream<object, LeanWatchResponse> }).Watch();
  stream.on('close', () => client.close());
  return stream;
}

function decodeLean(bytes: Buffer): LeanWatchResponse {
  const r = Reader.create(bytes);
  const out: LeanWatchResponse = { created: false, versions: [] };
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === RESPONSE_CREATED) out.created = r.bool();
    else if (tag >>> 3 === RESPONSE_EVENTS) out.versions.push(eventVersion(r, r.uint32()));
    else r.skipType(tag & 7);
  }
  return out;
}

/** The version of the kv of the event of `length` bytes at the reader's position. */
function eventVersion(r: Reader, length: number): number {
  const end = r.pos + length;
  let version = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag >>> 3 !== EVENT_KV) {
      r.skipType(tag & 7);
      continue;
    }
    const kvEnd = r.uint32() + r.pos;
    while (r.pos < kvEnd) {
      const kvTag = r.uint32();
      if (kvTag >>> 3 === KV_VERSION) version = Number(r.int64());
      else r.skipType(kvTag & 7);
    }
  }
  return version;
}
