import * as protobuf from 'protobufjs';
import { join } from 'node:path';
import type { InternalRequest, InternalRequest__Output } from '../generated/keelpb/InternalRequest';
import { PROTO_DIR } from '../util/paths';

/**
 * The binary codec of log entries' payloads (proto/keelpb/internal.proto). It produces the same
 * object shapes as the gRPC layer (int64 as decimal strings, enums as names, Buffers for bytes).
 */
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
root.loadSync('keelpb/internal.proto', { keepCase: true });
const InternalRequestType = root.lookupType('keelpb.InternalRequest');

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, oneofs: true };

export function encodeInternalRequest(req: InternalRequest): Buffer {
  return Buffer.from(InternalRequestType.encode(InternalRequestType.fromObject(req)).finish());
}

export function decodeInternalRequest(data: Uint8Array): InternalRequest__Output {
  return InternalRequestType.toObject(InternalRequestType.decode(data), TO_OBJECT) as InternalRequest__Output;
}
