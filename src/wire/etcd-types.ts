import * as protobuf from 'protobufjs';
import { join } from 'node:path';
import { PROTO_DIR } from '../util/paths';

/**
 * The reflected message types of etcd's API (etcdserverpb, mvccpb, authpb), for code that must walk
 * a message by its schema: field order, kinds, oneofs and enum numbers (keelctl's JSON printer
 * reproduces Go's encoding/json of etcd's generated structs, which follows the proto declaration).
 */
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
root.loadSync('etcdserverpb/rpc.proto', { keepCase: true });
root.resolveAll();

/** A message type by its full name, e.g. `etcdserverpb.RangeResponse` or `mvccpb.KeyValue`. */
export function messageType(fullName: string): protobuf.Type {
  return root.lookupType(fullName);
}
