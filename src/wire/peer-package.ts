import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from '../generated/raft';
import { WIRE_OPTIONS } from './etcd-package';

/** Keel's peer gRPC package (proto/keelpb/raft.proto): Raft messages between members. */
export const peerPackage = (
  grpc.loadPackageDefinition(protoLoader.loadSync('keelpb/raft.proto', WIRE_OPTIONS)) as unknown as ProtoGrpcType
).keelpb;
