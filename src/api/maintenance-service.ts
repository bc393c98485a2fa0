import type * as grpc from '@grpc/grpc-js';
import type { MaintenanceHandlers } from '../generated/etcdserverpb/Maintenance';
import type { HashKVResponse } from '../generated/etcdserverpb/HashKVResponse';
import type { HashResponse } from '../generated/etcdserverpb/HashResponse';
import type { SnapshotRequest__Output } from '../generated/etcdserverpb/SnapshotRequest';
import type { SnapshotResponse } from '../generated/etcdserverpb/SnapshotResponse';
import type { StatusResponse } from '../generated/etcdserverpb/StatusResponse';
import { KeelServer } from '../server/keel-server';
import { sha256, snapshotContents } from '../server/snapshot-file';
import { ETCD_VERSION } from '../server/version';
import { InvariantError } from '../util/invariant';
import { Logger } from '../util/logger';
import { toGrpcFailure } from './grpc-errors';
import { unary, votersOnly, withHeader } from './handler';

/** etcd sends snapshots in chunks of 32 KiB. */
const SNAPSHOT_CHUNK_BYTES = 32 * 1024;

/** etcdserverpb.Maintenance, as etcd 3.4 answers it (Downgrade is 3.5 and stays unimplemented). */
export function maintenanceService(server: KeelServer, log: Logger): Partial<MaintenanceHandlers> {
  // Of the unary calls a learner answers only Status (Snapshot, a stream, it still serves).
  const voting = votersOnly(server, log);
  return {
    Status: unary(log, async () => {
      const s = await server.status();
      const errors = [
        ...(s.leader === 0n ? ['etcdserver: no leader'] : []),
        // etcd prints each alarm in protobuf's compact text form, trailing space included.
        ...server.activeAlarms().map((a) => `memberID:${a.memberID} alarm:${a.alarm} `),
      ];
      return withHeader<StatusResponse>(server, {
        version: ETCD_VERSION,
        dbSize: s.dbSize,
        leader: s.leader.toString(),
        raftIndex: s.raftIndex,
        raftTerm: s.raftTerm,
        raftAppliedIndex: s.raftAppliedIndex,
        errors,
        dbSizeInUse: s.dbSizeInUse,
        isLearner: server.isLearner(),
      });
    }),
    // etcd answers alarms without a header.
    Alarm: voting(async (req) => ({ alarms: (await server.alarm(req)).alarms })),
    Hash: voting(async () => withHeader<HashResponse>(server, { hash: await server.hash() })),
    HashKV: voting(async (req) => {
      const h = await server.hashKv(Number(req.revision));
      return withHeader<HashKVResponse>(server, {
        header: { revision: h.currentRev },
        hash: h.hash,
        // etcd reports -1 while nothing has been compacted.
        compact_revision: h.compactRev === 0 ? -1 : h.compactRev,
        hash_revision: h.hashRev,
      });
    }),
    // etcd 3.4 answers a defragmentation without a header.
    Defragment: voting(async () => {
      await server.defragment();
      return {};
    }),
    MoveLeader: voting(async (req) => {
      await server.moveLeader(BigInt(req.targetID));
      // etcd answers a leader transfer without a header.
      return {};
    }),
    Snapshot: (call) => void streamSnapshot(server, call, log),
  };
}

/** The state in chunks with the bytes still to come, then etcd's closing chunk: the sha256. */
async function streamSnapshot(
  server: KeelServer, call: grpc.ServerWritableStream<SnapshotRequest__Output, SnapshotResponse>, log: Logger,
): Promise<void> {
  let contents: Buffer;
  try {
    contents = snapshotContents(await server.snapshot());
  } catch (err) {
    if (err instanceof InvariantError) throw err;
    const f = toGrpcFailure(err);
    call.emit('error', { code: f.code, details: f.details });
    return;
  }
  log.info('sending database snapshot to client', { 'total-bytes': contents.length, revision: server.currentRevision });
  for (let sent = 0; sent < contents.length;) {
    if (call.cancelled) return;
    const blob = contents.subarray(sent, sent + SNAPSHOT_CHUNK_BYTES);
    sent += blob.length;
    if (!call.write({ remaining_bytes: contents.length - sent, blob })) await new Promise((resolve) => call.once('drain', resolve));
  }
  call.write({ remaining_bytes: 0, blob: sha256(contents) });
  call.end();
}
