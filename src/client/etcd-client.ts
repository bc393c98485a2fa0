import * as grpc from '@grpc/grpc-js';
import type { KVClient } from '../generated/etcdserverpb/KV';
import type { ClusterClient } from '../generated/etcdserverpb/Cluster';
import type { MaintenanceClient } from '../generated/etcdserverpb/Maintenance';
import type { CompactionRequest } from '../generated/etcdserverpb/CompactionRequest';
import type { CompactionResponse__Output } from '../generated/etcdserverpb/CompactionResponse';
import type { DeleteRangeRequest } from '../generated/etcdserverpb/DeleteRangeRequest';
import type { DeleteRangeResponse__Output } from '../generated/etcdserverpb/DeleteRangeResponse';
import type { AlarmRequest } from '../generated/etcdserverpb/AlarmRequest';
import type { AlarmResponse__Output } from '../generated/etcdserverpb/AlarmResponse';
import type { DefragmentResponse__Output } from '../generated/etcdserverpb/DefragmentResponse';
import type { HashKVResponse__Output } from '../generated/etcdserverpb/HashKVResponse';
import type { HashResponse__Output } from '../generated/etcdserverpb/HashResponse';
import type { MemberAddRequest } from '../generated/etcdserverpb/MemberAddRequest';
import type { MemberAddResponse__Output } from '../generated/etcdserverpb/MemberAddResponse';
import type { MemberPromoteResponse__Output } from '../generated/etcdserverpb/MemberPromoteResponse';
import type { MemberRemoveResponse__Output } from '../generated/etcdserverpb/MemberRemoveResponse';
import type { MemberUpdateRequest } from '../generated/etcdserverpb/MemberUpdateRequest';
import type { MemberUpdateResponse__Output } from '../generated/etcdserverpb/MemberUpdateResponse';
import type { SnapshotResponse__Output } from '../generated/etcdserverpb/SnapshotResponse';
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
import type { AuthClient } from '../generated/etcdserverpb/Auth';
import type { AuthenticateRequest } from '../generated/etcdserverpb/AuthenticateRequest';
import type { AuthenticateResponse__Output } from '../generated/etcdserverpb/AuthenticateResponse';
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
import { NO_CHANNELZ } from '../util/grpc-options';
import { etcdPackage } from '../wire/etcd-package';

export interface ClientOptions {
  /** Deadline of each call, in milliseconds (etcdctl's --command-timeout, default 5 s). */
  commandTimeoutMs?: number;
  /** gRPC channel options, e.g. {'grpc.use_local_subchannel_pool': 1} for a TCP connection of its own. */
  channelOptions?: grpc.ChannelOptions;
  /** TLS for https endpoints (grpc.credentials.createSsl); plain text when absent. */
  credentials?: grpc.ChannelCredentials;
}

/** The Auth service's unary methods (its generated client also has lower-case aliases). */
type AuthMethod = 'AuthEnable' | 'AuthDisable' | 'UserAdd' | 'UserGet' | 'UserList' | 'UserDelete' | 'UserChangePassword' |
  'UserGrantRole' | 'UserRevokeRole' | 'RoleAdd' | 'RoleGet' | 'RoleList' | 'RoleDelete' | 'RoleGrantPermission' | 'RoleRevokePermission';

/** What an Auth method answers: the value its callback receives. */
type AuthResponse<M extends AuthMethod> = AuthClient[M] extends (req: never, cb: grpc.requestCallback<infer R>) => unknown ? R : never;

type Unary<Req, Res> = (req: Req, meta: grpc.Metadata, opts: grpc.CallOptions, cb: grpc.requestCallback<Res>) => unknown;

/**
 * A thin typed etcd v3 client over one endpoint: the KV, Lease, Watch, Maintenance and Cluster calls
 * as promises and streams.
 * Used by keelctl, the control plane, tests and benchmarks; it works against any etcd.
 */
export class EtcdClient {
  private readonly kv: KVClient;
  private readonly maintenance: MaintenanceClient;
  private readonly cluster: ClusterClient;
  private readonly watch: WatchClient;
  private readonly lease: LeaseClient;
  private readonly authClient: AuthClient;
  /** The auth token every call carries once authenticate() got one. */
  private token: string | undefined;
  private readonly timeoutMs: number;

  /** `endpoint` is host:port; the three services share one channel. */
  constructor(readonly endpoint: string, opts: ClientOptions = {}) {
    const creds = opts.credentials ?? grpc.credentials.createInsecure();
    this.kv = new etcdPackage.KV(endpoint, creds, { ...NO_CHANNELZ, ...opts.channelOptions });
    const channelOverride = this.kv.getChannel();
    this.maintenance = new etcdPackage.Maintenance(endpoint, creds, { channelOverride });
    this.cluster = new etcdPackage.Cluster(endpoint, creds, { channelOverride });
    this.watch = new etcdPackage.Watch(endpoint, creds, { channelOverride });
    this.lease = new etcdPackage.Lease(endpoint, creds, { channelOverride });
    this.authClient = new etcdPackage.Auth(endpoint, creds, { channelOverride });
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
    return this.lease.LeaseKeepAlive(this.metadata());
  }

  status(): Promise<StatusResponse__Output> {
    return this.call(this.maintenance, this.maintenance.Status, {});
  }

  memberList(): Promise<MemberListResponse__Output> {
    return this.call(this.cluster, this.cluster.MemberList, {});
  }

  memberAdd(req: MemberAddRequest): Promise<MemberAddResponse__Output> {
    return this.call(this.cluster, this.cluster.MemberAdd, req);
  }

  /** `id` is the member ID as a decimal string (uint64). */
  memberRemove(id: string): Promise<MemberRemoveResponse__Output> {
    return this.call(this.cluster, this.cluster.MemberRemove, { ID: id });
  }

  memberUpdate(req: MemberUpdateRequest): Promise<MemberUpdateResponse__Output> {
    return this.call(this.cluster, this.cluster.MemberUpdate, req);
  }

  memberPromote(id: string): Promise<MemberPromoteResponse__Output> {
    return this.call(this.cluster, this.cluster.MemberPromote, { ID: id });
  }

  hash(): Promise<HashResponse__Output> {
    return this.call(this.maintenance, this.maintenance.Hash, {});
  }

  /** The hash of the MVCC key space up to `revision` (0: all of it). */
  hashKV(revision: number): Promise<HashKVResponse__Output> {
    return this.call(this.maintenance, this.maintenance.HashKV, { revision });
  }

  /** Defragmentation can take long on a big database, so it gets its own deadline. */
  defragment(timeoutMs = this.timeoutMs): Promise<DefragmentResponse__Output> {
    return this.call(this.maintenance, this.maintenance.Defragment, {}, timeoutMs);
  }

  alarm(req: AlarmRequest): Promise<AlarmResponse__Output> {
    return this.call(this.maintenance, this.maintenance.Alarm, req);
  }

  /** Must be sent to the leader; `targetId` is a decimal uint64 string. */
  moveLeader(targetId: string): Promise<MoveLeaderResponse__Output> {
    return this.call(this.maintenance, this.maintenance.MoveLeader, { targetID: targetId });
  }

  /**
   * The database as a stream of chunks (`blob`); the last chunk ends with the sha256 of what came
   * before. No deadline unless one is given: a big database takes as long as it takes.
   */
  snapshotStream(deadline?: Date): grpc.ClientReadableStream<SnapshotResponse__Output> {
    return this.maintenance.Snapshot({}, this.metadata(), deadline === undefined ? {} : { deadline });
  }

  /**
   * Opens a Watch stream: write WatchRequests, read WatchResponses. One stream carries many
   * watchers; end it to cancel them all.
   */
  watchStream(headers: Record<string, string> = {}): grpc.ClientDuplexStream<WatchRequest, WatchResponse__Output> {
    const metadata = this.metadata();
    for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
    return this.watch.Watch(metadata);
  }

  /** Auth.Authenticate; every later call carries the token, as clientv3 does after it logs in. Resolves with the token. */
  async authenticate(name: string, password: string): Promise<string> {
    const res = await this.call<AuthenticateRequest, AuthenticateResponse__Output>(this.authClient, this.authClient.Authenticate, { name, password });
    this.token = res.token;
    return res.token;
  }

  /** Later calls carry this token (one issued to another client, say). */
  useToken(token: string): void {
    this.token = token;
  }

  /**
   * Any other Auth call by its method name (UserAdd, RoleGrantPermission, ...), with the request
   * and response types etcd's proto gives it.
   */
  authCall<M extends AuthMethod>(method: M, req: Parameters<AuthClient[M]>[0]): Promise<AuthResponse<M>> {
    return this.call(this.authClient, this.authClient[method] as unknown as Unary<typeof req, AuthResponse<M>>, req);
  }

  /** Resolves once the channel is connected; rejects if it is not by `deadline` (a dial timeout). */
  waitForReady(deadline: Date): Promise<void> {
    return new Promise((resolve, reject) => this.kv.waitForReady(deadline, (err) => (err ? reject(err) : resolve())));
  }

  close(): void {
    this.kv.close();
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.token !== undefined) md.set('token', this.token);
    return md;
  }

  private call<Req, Res>(target: object, method: Unary<Req, Res>, req: Req, timeoutMs = this.timeoutMs): Promise<Res> {
    return new Promise((resolve, reject) => {
      method.call(target, req, this.metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) reject(err);
        else resolve(res!);
      });
    });
  }
}
