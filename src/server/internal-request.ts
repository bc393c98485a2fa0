import * as protobuf from 'protobufjs';
import { Writer } from 'protobufjs/minimal';
import { join } from 'node:path';
import type { InternalRequest, InternalRequest__Output } from '../generated/keelpb/InternalRequest';
import { arrivedAs } from '../util/arrived-as';
import { asBuffer } from '../util/bytes';
import { PROTO_DIR } from '../util/paths';
import { LENGTH_DELIMITED, tag, VARINT } from '../util/proto-writer';

/**
 * The binary codec of log entries' payloads (proto/keelpb/internal.proto). It produces the same
 * object shapes as the gRPC layer (int64 as decimal strings, enums as names, Buffers for bytes).
 */
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
root.loadSync('keelpb/internal.proto', { keepCase: true });
const InternalRequestType = root.lookupType('keelpb.InternalRequest');

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, oneofs: true };

/** Field numbers of internal.proto's InternalRequest that the client writes arrive in. */
const ID_FIELD = 1;
const AUTH_REVISION_FIELD = 12;
const CLIENT_WRITES = [['put', 2], ['delete_range', 3], ['txn', 4]] as const;

export function encodeInternalRequest(req: InternalRequest): Buffer {
  for (const [name, field] of CLIENT_WRITES) {
    const write = req[name];
    const bytes = write ? arrivedAs(write) : undefined;
    if (bytes !== undefined) return encodeAround(req, field, bytes);
  }
  return Buffer.from(InternalRequestType.encode(InternalRequestType.fromObject(req)).finish());
}

export function decodeInternalRequest(data: Uint8Array): InternalRequest__Output {
  return InternalRequestType.toObject(InternalRequestType.decode(data), TO_OBJECT) as InternalRequest__Output;
}

/** A client write's request as the bytes it arrived in, with the ID and auth revision around it. */
function encodeAround(req: InternalRequest, field: number, bytes: Uint8Array): Buffer {
  const w = Writer.create().uint32(tag(ID_FIELD, VARINT)).uint64(String(req.id ?? 0)).uint32(tag(field, LENGTH_DELIMITED)).bytes(bytes);
  const authRevision = String(req.auth_revision ?? 0);
  // proto3 leaves a zero out, as protobufjs does.
  if (authRevision !== '0') w.uint32(tag(AUTH_REVISION_FIELD, VARINT)).uint64(authRevision);
  return asBuffer(w.finish());
}
