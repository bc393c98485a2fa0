import type { CompactionRequest__Output } from '../generated/etcdserverpb/CompactionRequest';
import type { CompactionResponse } from '../generated/etcdserverpb/CompactionResponse';
import type { DeleteRangeRequest__Output } from '../generated/etcdserverpb/DeleteRangeRequest';
import type { DeleteRangeResponse } from '../generated/etcdserverpb/DeleteRangeResponse';
import type { PutRequest__Output } from '../generated/etcdserverpb/PutRequest';
import type { PutResponse } from '../generated/etcdserverpb/PutResponse';
import type { RangeRequest__Output } from '../generated/etcdserverpb/RangeRequest';
import type { RangeResponse } from '../generated/etcdserverpb/RangeResponse';
import type { TxnRequest__Output } from '../generated/etcdserverpb/TxnRequest';
import type { TxnResponse } from '../generated/etcdserverpb/TxnResponse';
import type { InternalRequest } from '../generated/keelpb/InternalRequest';
import { MvccStore } from '../mvcc/kv-store';
import { Engine } from '../storage/engine';
import { decodeNumber, metaKey } from '../storage/keyspace';
import { LogStore } from '../storage/log-store';
import { Logger } from '../util/logger';
import { applyRange } from './apply/range';
import { applyTxn, isTxnReadOnly } from './apply/txn';
import { Applier, ApplyResult } from './applier';
import { bootstrapIdentity, ClusterFlags } from './bootstrap';
import { ServerError } from './errors';
import { IdGenerator } from './id-generator';
import { encodeInternalRequest } from './internal-request';
import { Member } from './membership';
import { SingleMemberLog } from './single-member-log';
import { Wait } from './wait';

export interface ServerConfig extends ClusterFlags {
  /** Largest proposal accepted, in bytes (etcd's --max-request-bytes, default 1.5 MiB). */
  maxRequestBytes: number;
  /** Applied entries between log trims (etcd's --snapshot-count). */
  snapshotCount: number;
}

/** The fields every response header carries besides the revision. */
export interface HeaderFields {
  cluster_id: string;
  member_id: string;
  raft_term: number;
}

export interface MemberStatus {
  leader: bigint;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  dbSize: number;
}

/**
 * One Keel member's core: writes go propose → log → apply → waiter; reads are served from the
 * applied state. The gRPC services in src/api call only this class.
 */
export class KeelServer {
  private readonly wait = new Wait<ApplyResult>();
  private stopped = false;

  private constructor(
    private readonly engine: Engine,
    private readonly store: MvccStore,
    private readonly applier: Applier,
    private readonly log: SingleMemberLog,
    private readonly ids: IdGenerator,
    readonly clusterId: bigint,
    readonly memberId: bigint,
    private readonly memberList: Member[],
    private readonly cfg: ServerConfig,
  ) {}

  static async start(engine: Engine, cfg: ServerConfig, logger: Logger): Promise<KeelServer> {
    const identity = await bootstrapIdentity(engine, cfg, logger);
    const store = await MvccStore.open(engine, logger);
    const applied = decodeNumber(await engine.get(metaKey('applied-index'))) ?? 0;
    const applier = new Applier(engine, store, applied);
    const logStore = new LogStore(engine);
    const replay = await logStore.entriesFrom(applied + 1);
    if (replay.length > 0) {
      await applier.applyEntries(replay);
      logger.info('replayed log entries not yet applied', { from: applied + 1, to: applier.appliedIndex });
    }
    let server: KeelServer | undefined;
    const log = new SingleMemberLog(logStore, Math.max(applier.appliedIndex, await logStore.lastIndex()),
      async (entries) => {
        for (const { id, result } of await applier.applyEntries(entries)) server?.wait.trigger(id, result);
      }, cfg.snapshotCount);
    server = new KeelServer(engine, store, applier, log, new IdGenerator(identity.memberId, Date.now()),
      identity.clusterId, identity.memberId, identity.members, cfg);
    logger.info('member is ready to serve', {
      'applied-index': applier.appliedIndex, revision: store.currentRevision,
    });
    return server;
  }

  header(): HeaderFields {
    return { cluster_id: this.clusterId.toString(), member_id: this.memberId.toString(), raft_term: 1 };
  }

  get currentRevision(): number {
    return this.store.currentRevision;
  }

  range(req: RangeRequest__Output): Promise<RangeResponse> {
    this.ensureRunning();
    return applyRange(this.store.readView(), req);
  }

  async put(req: PutRequest__Output): Promise<PutResponse> {
    return (await this.propose<PutResponse>({ put: req })).response;
  }

  async deleteRange(req: DeleteRangeRequest__Output): Promise<DeleteRangeResponse> {
    return (await this.propose<DeleteRangeResponse>({ delete_range: req })).response;
  }

  async txn(req: TxnRequest__Output): Promise<TxnResponse> {
    if (isTxnReadOnly(req)) {
      this.ensureRunning();
      return applyTxn(this.store.readView(), req);
    }
    return (await this.propose<TxnResponse>({ txn: req })).response;
  }

  async compact(req: CompactionRequest__Output): Promise<CompactionResponse> {
    const result = await this.propose<CompactionResponse>({ compaction: req });
    if (req.physical) await result.physicalCompaction;
    return result.response;
  }

  members(): Member[] {
    return this.memberList;
  }

  async status(): Promise<MemberStatus> {
    return {
      leader: this.memberId,
      raftIndex: this.log.lastLogIndex,
      raftTerm: 1,
      raftAppliedIndex: this.applier.appliedIndex,
      dbSize: await this.engine.sizeOnDisk(),
    };
  }

  /** Stops taking requests, lets every accepted write finish, and waits for background work. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.log.flush();
    await this.store.idle();
    this.wait.triggerAll({ ok: false, error: new ServerError('stopped') });
  }

  private async propose<T>(req: InternalRequest): Promise<{ response: T; physicalCompaction?: Promise<void> }> {
    this.ensureRunning();
    const id = this.ids.nextId();
    const data = encodeInternalRequest({ ...req, id });
    if (data.length > this.cfg.maxRequestBytes) throw new ServerError('request-too-large');
    const done = this.wait.register(id);
    this.log.propose(data);
    const result = await done;
    if (!result.ok) throw result.error;
    return { response: result.response as T, physicalCompaction: result.physicalCompaction };
  }

  private ensureRunning(): void {
    if (this.stopped) throw new ServerError('stopped');
  }
}
