import * as grpc from '@grpc/grpc-js';
import type { PeerClient as GeneratedPeerClient } from '../generated/keelpb/Peer';
import type { Message } from '../raft/types';
import { peerPackage } from '../wire/peer-package';
import { decodeMessageBatch, decodeSnapshotChunk, encodeMessageBatch, encodeSnapshotChunk, SnapshotChunkWire } from './raft-wire';

type Done = (err: grpc.ServiceError | null) => void;

/** The Peer client with Raft's two streams carrying messages as Raft has them, encoded by raft-wire. */
export type PeerClient = Omit<GeneratedPeerClient, 'Stream' | 'stream' | 'Snapshot' | 'snapshot'> & {
  Stream(metadata: grpc.Metadata, callback: Done): grpc.ClientWritableStream<Message[]>;
  Snapshot(metadata: grpc.Metadata, callback: Done): grpc.ClientWritableStream<SnapshotChunkWire>;
};

const generated = peerPackage.Peer.service;

/**
 * proto/keelpb/raft.proto's Peer service, the same on the wire, with its Raft streams
 * (de)serialised by raft-wire instead of proto-loader's generic objects; the other methods as generated.
 */
export const PEER_SERVICE: grpc.ServiceDefinition = {
  ...generated,
  Stream: {
    ...generated.Stream,
    requestSerialize: (messages: Message[]) => encodeMessageBatch(messages),
    requestDeserialize: (bytes: Buffer) => decodeMessageBatch(bytes),
  },
  Snapshot: {
    ...generated.Snapshot,
    requestSerialize: (chunk: SnapshotChunkWire) => encodeSnapshotChunk(chunk),
    requestDeserialize: (bytes: Buffer) => decodeSnapshotChunk(bytes),
  },
};

export const PeerClientConstructor = grpc.makeGenericClientConstructor(PEER_SERVICE, 'Peer') as unknown as
  new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => PeerClient;
