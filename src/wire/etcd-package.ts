import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from '../generated/rpc';
import { PROTO_DIR } from '../util/paths';

/**
 * How messages look in JavaScript on both sides of the wire: proto field names as written,
 * int64 as decimal strings (IDs are full 64-bit), enums by name, every field present.
 */
export const WIRE_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

/** etcd's gRPC package (services KV, Watch, Lease, Cluster, Maintenance, Auth) from proto/. */
export const etcdPackage = (
  grpc.loadPackageDefinition(protoLoader.loadSync('etcdserverpb/rpc.proto', WIRE_OPTIONS)) as unknown as ProtoGrpcType
).etcdserverpb;
