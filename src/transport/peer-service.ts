import * as grpc from '@grpc/grpc-js';
import type { PeerClient as GeneratedPeerClient } from '../generated/keelpb/Peer';
import { peerPackage } from '../wire/peer-package';
import { decodeSnapshotChunk, encodeSnapshotChunk, SnapshotChunkWire } from './raft-wire';

type Done = (err: grpc.ServiceError | null) => void;

/** The Peer client with its snapshot stream carrying chunks as raft-wire encodes them. */
export type PeerClient = Omit<GeneratedPeerClient, 'Snapshot' | 'snapshot'> & {
  Snapshot(metadata: grpc.Metadata, callback: Done): grpc.ClientWritableStream<SnapshotChunkWire>;
};

const generated = peerPackage.Peer.service;

/**
 * proto/keelpb/raft.proto's Peer service, the same on the wire, with its snapshot stream
 * (de)serialised by raft-wire instead of proto-loader's generic objects; the other methods as generated.
 */
export const PEER_SERVICE: grpc.ServiceDefinition = {
  ...generated,
  Snapshot: {
    ...generated.Snapshot,
    requestSerialize: (chunk: SnapshotChunkWire) => encodeSnapshotChunk(chunk),
    requestDeserialize: (bytes: Buffer) => decodeSnapshotChunk(bytes),
  },
};

export const PeerClientConstructor = grpc.makeGenericClientConstructor(PEER_SERVICE, 'Peer') as unknown as
  new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => PeerClient;
