import * as grpc from '@grpc/grpc-js';
import type { AlarmRequest } from '../../generated/etcdserverpb/AlarmRequest';
import type { AlarmResponse__Output } from '../../generated/etcdserverpb/AlarmResponse';
import type { HashKVResponse__Output } from '../../generated/etcdserverpb/HashKVResponse';
import type { HashResponse__Output } from '../../generated/etcdserverpb/HashResponse';
import type { MaintenanceClient } from '../../generated/etcdserverpb/Maintenance';
import type { SnapshotResponse__Output } from '../../generated/etcdserverpb/SnapshotResponse';
import type { StatusResponse__Output } from '../../generated/etcdserverpb/StatusResponse';
import { etcdPackage } from '../../wire/etcd-package';

/** The Maintenance calls as promises, for tests (the shared client in src/client has only Status). */
export class TestMaintenanceClient {
  private readonly m: MaintenanceClient;

  constructor(endpoint: string) {
    this.m = new etcdPackage.Maintenance(endpoint, grpc.credentials.createInsecure());
  }

  status(): Promise<StatusResponse__Output> {
    return this.unary((cb) => this.m.Status({}, cb));
  }

  alarm(req: AlarmRequest): Promise<AlarmResponse__Output> {
    return this.unary((cb) => this.m.Alarm(req, cb));
  }

  hash(): Promise<HashResponse__Output> {
    return this.unary((cb) => this.m.Hash({}, cb));
  }

  hashKv(revision: number): Promise<HashKVResponse__Output> {
    return this.unary((cb) => this.m.HashKV({ revision }, cb));
  }

  defragment(): Promise<unknown> {
    return this.unary((cb) => this.m.Defragment({}, cb));
  }

  moveLeader(targetID: bigint): Promise<unknown> {
    return this.unary((cb) => this.m.MoveLeader({ targetID: targetID.toString() }, cb));
  }

  /** Every message of a Snapshot stream, in order. */
  snapshot(): Promise<SnapshotResponse__Output[]> {
    return new Promise((resolve, reject) => {
      const out: SnapshotResponse__Output[] = [];
      this.m.Snapshot({}).on('data', (r: SnapshotResponse__Output) => out.push(r)).on('end', () => resolve(out)).on('error', reject);
    });
  }

  close(): void {
    this.m.close();
  }

  private unary<T>(start: (cb: (err: grpc.ServiceError | null, res?: T) => void) => void): Promise<T> {
    return new Promise((resolve, reject) => start((err, res) => (err ? reject(err) : resolve(res!))));
  }
}
