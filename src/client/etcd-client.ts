import * as grpc from '@grpc/grpc-js';
import type { KVClient } from '../generated/etcdserverpb/KV';
import type { ClusterClient } from '../generated/etcdserverpb/Cluster';
import type { MaintenanceClient } from '../generated/etcdserverpb/Maintenance';
import type { CompactionRequest } from '../generated/etcdserverpb/CompactionRequest';
import type { CompactionResponse__Output } from '../generated/etcdserverpb/CompactionResponse';
import type { DeleteRangeRequest } from '../generated/etcdserverpb/DeleteRangeRequest';
import type { DeleteRangeResponse__Output } from '../generated/etcdserverpb/DeleteRangeResponse';
import type { MemberListResponse__Output } from '../generated/etcdserverpb/MemberListResponse';
import type { PutRequest } from '../generated/etcdserverpb/PutRequest';
import type { PutResponse__Output } from '../generated/etcdserverpb/PutResponse';
import type { RangeRequest } from '../generated/etcdserverpb/RangeRequest';
import type { RangeResponse__Output } from '../generated/etcdserverpb/RangeResponse';
import type { StatusResponse__Output } from '../generated/etcdserverpb/StatusResponse';
import type { MoveLeaderResponse__Output } from '../generated/etcdserverpb/MoveLeaderResponse';
import type { TxnRequest } from '../generated/etcdserverpb/TxnRequest';
import type { TxnResponse__Output } from '../generated/etcdserverpb/TxnResponse';
import type { WatchClient } from '../generated/etcdserverpb/Watch';
import type { LeaseClient } from '../generated/etcdserverpb/Lease';
import type { LeaseGrantRequest } from '../generated/etcdserverpb/LeaseGrantRequest';
import type { LeaseGrantResponse__Output } from '../generated/etcdserverpb/LeaseGrantResponse';
import type { LeaseKeepAliveRequest } from '../generated/etcdserverpb/LeaseKeepAliveRequest';
import type { LeaseKeepAliveResponse__Output } from '../generated/etcdserverpb/LeaseKeepAliveResponse';
import type { LeaseLeasesResponse__Output } from '../generated/etcdserverpb/LeaseLeasesResponse';
import type { LeaseRevokeRequest } from '../generated/etcdserverpb/LeaseRevokeRequest';
import type { LeaseRevokeResponse__Output } from '../generated/etcdserverpb/LeaseRevokeResponse';
import type { LeaseTimeToLiveRequest } from '../generated/etcdserverpb/LeaseTimeToLiveRequest';
import type { LeaseTimeToLiveResponse__Output } from '../generated/etcdserverpb/LeaseTimeToLiveResponse';
import type { WatchRequest } from '../generated/etcdserverpb/WatchRequest';
import type { WatchResponse__Output } from '../generated/etcdserverpb/WatchResponse';
import { etcdPackage } from '../wire/etcd-package';

export interface ClientOptions {
  /** Deadline of each call, in milliseconds (etcdctl's --command-timeout, default 5 s). */
  commandTimeoutMs?: number;
  /** gRPC channel options, e.g. {'grpc.use_local_subchannel_pool': 1} for a TCP connection of its own. */
  channelOptions?: grpc.ChannelOptions;
}

type Unary<Req, Res> = (req: Req, meta: grpc.Metadata, opts: grpc.CallOptions, cb: grpc.requestCallback<Res>) => unknown;

/**
 * A thin typed etcd v3 client over one endpoint: the KV, Maintenance and Cluster calls as promises.
 * Used by keelctl, the control plane, tests and benchmarks; it works against any etcd.
 */
export class EtcdClient {
  private readonly kv: KVClient;
  private readonly maintenance: MaintenanceClient;
  private readonly cluster: ClusterClient;
  private readonly watch: WatchClient;
  private readonly lease: LeaseClient;
  private readonly timeoutMs: number;

  /** `endpoint` is host:port; the three services share one channel. */
  constructor(readonly endpoint: string, opts: ClientOptions = {}) {
    const creds = grpc.credentials.createInsecure();
    this.kv = new etcdPackage.KV(endpoint, creds, opts.channelOptions);
    const channelOverride = this.kv.getChannel();
    this.maintenance = new etcdPackage.Maintenance(endpoint, creds, { channelOverride });
    this.cluster = new etcdPackage.Cluster(endpoint, creds, { channelOverride });
    this.watch = new etcdPackage.Watch(endpoint, creds, { channelOverride });
    this.lease = new etcdPackage.Lease(endpoint, creds, { channelOverride });
    this.timeoutMs = opts.commandTimeoutMs ?? 5000;
  }

  range(req: RangeRequest): Promise<RangeResponse__Output> {
    return this.call(this.kv, this.kv.Range, req);
  }

  put(req: PutRequest): Promise<PutResponse__Output> {
    return this.call(this.kv, this.kv.Put, req);
  }

  deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResponse__Output> {
    return this.call(this.kv, this.kv.DeleteRange, req);
  }

  txn(req: TxnRequest): Promise<TxnResponse__Output> {
    return this.call(this.kv, this.kv.Txn, req);
  }

  compact(req: CompactionRequest): Promise<CompactionResponse__Output> {
    return this.call(this.kv, this.kv.Compact, req);
  }

  leaseGrant(req: LeaseGrantRequest): Promise<LeaseGrantResponse__Output> {
    return this.call(this.lease, this.lease.LeaseGrant, req);
  }

  leaseRevoke(req: LeaseRevokeRequest): Promise<LeaseRevokeResponse__Output> {
    return this.call(this.lease, this.lease.LeaseRevoke, req);
  }

  leaseTimeToLive(req: LeaseTimeToLiveRequest): Promise<LeaseTimeToLiveResponse__Output> {
    return this.call(this.lease, this.lease.LeaseTimeToLive, req);
  }

  leaseLeases(): Promise<LeaseLeasesResponse__Output> {
    return this.call(this.lease, this.lease.LeaseLeases, {});
  }

  /** Opens a LeaseKeepAlive stream: write {ID} to renew, read the new TTL (0: the lease is gone). */
  leaseKeepAliveStream(): grpc.ClientDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse__Output> {
    return this.lease.LeaseKeepAlive();
  }

  status(): Promise<StatusResponse__Output> {
    return this.call(this.maintenance, this.maintenance.Status, {});
  }

  /** Asks the leader (this endpoint must be it) to hand leadership to `targetID`. */
  moveLeader(targetID: string): Promise<MoveLeaderResponse__Output> {
    return this.call(this.maintenance, this.maintenance.MoveLeader, { targetID });
  }

  memberList(): Promise<MemberListResponse__Output> {
    return this.call(this.cluster, this.cluster.MemberList, {});
  }

  /**
   * Opens a Watch stream: write WatchRequests, read WatchResponses. One stream carries many
   * watchers; end it to cancel them all.
   */
  watchStream(metadata = new grpc.Metadata()): grpc.ClientDuplexStream<WatchRequest, WatchResponse__Output> {
    return this.watch.Watch(metadata);
  }

  close(): void {
    this.kv.close();
  }

  private call<Req, Res>(target: object, method: Unary<Req, Res>, req: Req): Promise<Res> {
    return new Promise((resolve, reject) => {
      method.call(target, req, new grpc.Metadata(), { deadline: Date.now() + this.timeoutMs }, (err, res) => {
        if (err) reject(err);
        else resolve(res!);
      });
    });
  }
}
