import Long from 'long';
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
import { CompactedError } from '../mvcc/errors';
import { KeyValue } from '../mvcc/key-value';
import { MvccStore } from '../mvcc/kv-store';
import { WatchableStore, WatchHandle, WatchSink } from '../mvcc/watchable-store';
import { ProposalDroppedError } from '../raft/errors';
import { RawNode } from '../raft/raw-node';
import { NodeId, NONE } from '../raft/types';
import { Engine, EngineSnapshot } from '../storage/engine';
import { decodeNumber, metaKey } from '../storage/keyspace';
import { LogEntry, LogStore, StoredHardState } from '../storage/log-store';
import { PeerTransport } from '../transport/transport';
import { Registry } from 'prom-client';
import { Lessor } from '../lease/lessor';
import { Clock } from '../util/clock';
import { Logger } from '../util/logger';
import { Rand } from '../util/rand';
import { applyRange } from './apply/range';
import { spanOf } from './apply/span';
import { applyTxn, isTxnReadOnly } from './apply/txn';
import { Applier, ApplyResult } from './applier';
import { bootstrapIdentity, ClusterFlags, DiscoverCluster } from './bootstrap';
import { MemberAdmin } from './member-admin';
import { encodeConfChange } from '../raft/conf-change';
import { MemberChange, toConfChange } from './member-change';
import { ServerError } from './errors';
import { IdGenerator } from './id-generator';
import { LeaseManager } from './lease-manager';
import { encodeInternalRequest } from './internal-request';
import { Member } from './membership';
import { MembershipState } from './membership-state';
import { ServerMetrics } from './metrics';
import { ETCD_CLUSTER_VERSION } from './version';
import { loadRaftStorage, RaftNode } from './raft-node';
import { LinearizableReads } from './read-index';
import { dumpPieces, dumpState } from './state-snapshot';
import { prepareWhole, StatePreparation } from './state-install';
import { Wait } from './wait';
import { EMPTY_BYTES, fromKeyString } from '../util/bytes';
import type { AlarmMember } from '../generated/etcdserverpb/AlarmMember';
import type { AlarmRequest__Output } from '../generated/etcdserverpb/AlarmRequest';
import type { AlarmResponse } from '../generated/etcdserverpb/AlarmResponse';
import { hashStore } from '../mvcc/hash';
import { AlarmStore } from './alarm-store';
import { AuthStore } from './auth-store';
import { SimpleTokens, type TokenHolder } from './auth-tokens';
import { JwtTokens, type JwtOptions } from './jwt-tokens';
import { hashPassword, verifyPassword } from './password';
import type { AuthRequest } from '../generated/keelpb/AuthRequest';
import { AutoCompaction, AutoCompactor } from './auto-compactor';
import { Defragmenter } from './defragmenter';
import { LeaderTransfer } from './leader-transfer';
import { effectiveQuota } from './quota';
import { QuotaGuard } from './quota-guard';

export interface ServerConfig extends ClusterFlags {
  /** Largest proposal accepted, in bytes (etcd's --max-request-bytes, default 1.5 MiB). */
  maxRequestBytes: number;
  /** Applied entries between snapshots that trim the Raft log (etcd's --snapshot-count). */
  snapshotCount: number;
  /** Time of a heartbeat interval, one Raft tick (etcd's --heartbeat-interval, default 100). */
  heartbeatIntervalMs: number;
  /** Time of an election timeout (etcd's --election-timeout, default 1000). */
  electionTimeoutMs: number;
  /** How often watchers that asked for it get a progress notification (etcd: 10 minutes). */
  watchProgressNotifyIntervalMs: number;
  /** etcd's --quota-backend-bytes: 0 for the default (2 GiB), negative for none. */
  quotaBackendBytes: number;
  /** etcd's --auto-compaction-mode and --auto-compaction-retention; undefined: off. */
  autoCompaction: AutoCompaction | undefined;
  /** etcd's --auth-token-ttl: seconds a simple token lives after its last use (default 300). */
  authTokenTtlSeconds?: number;
  /** etcd's --auth-token jwt,…: signed tokens instead of simple ones. */
  jwt?: JwtOptions;
}

/** The fields every response header carries besides the revision. */
export interface HeaderFields {
  cluster_id: Long;
  member_id: Long;
  raft_term: number;
}

export interface MemberStatus {
  leader: bigint;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  dbSize: number;
  dbSizeInUse: number;
}

/** What the composition root hands the server besides its config. */
export interface ServerDeps {
  engine: Engine;
  /** Where the Raft log's write-ahead log lives (wal.ts): a directory of its own. */
  walDir: string;
  /** Builds the peer transport once the member knows its identity and the members (itself among them). */
  transport(memberId: NodeId, clusterId: bigint, peers: Member[]): PeerTransport;
  /** How a member joining a running cluster asks the others about it. */
  discover: DiscoverCluster;
  /** Randomness for election timeouts. */
  rand: Rand;
  /** Wall time, for lease expiry on the leader. */
  clock: Clock;
  log: Logger;
  /** Where the member's metrics are registered (a registry per member). */
  registry: Registry;
}

/**
 * One Keel member's core: writes go propose → Raft → durable log → apply → waiter on the
 * proposing member; linearizable reads wait for a ReadIndex round, serializable reads do not.
 * The gRPC services in src/api call only this class.
 */
export class KeelServer {
  private headerIds: { cluster_id: Long; member_id: Long } | undefined;
  private readonly wait: Wait<ApplyResult>;
  /** Lease grants, revocations, keep-alives and time-to-live. */
  readonly leases: LeaseManager;
  /** Membership changes (the Cluster service). */
  readonly memberAdmin: MemberAdmin;
  /** Resolves with the reason once the member has stopped by itself (it was removed from the cluster). */
  readonly stoppedByItself: Promise<string>;
  private stopByItself: (reason: string) => void = () => {};
  private readonly appliedWaiters: Array<{ index: number; resolve(): void }> = [];
  private readonly ids: IdGenerator;
  private readonly reads: LinearizableReads;
  private readonly ticker: NodeJS.Timeout;
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private removalNoticed = false;
  private published = false;
  private readonly quota: QuotaGuard;
  private readonly leaderTransfer: LeaderTransfer;
  private readonly defragmenter: Defragmenter;
  private readonly autoCompactor: AutoCompactor | undefined;

  private constructor(
    private readonly engine: Engine,
    private readonly store: MvccStore,
    private readonly watchable: WatchableStore,
    private readonly applier: Applier,
    private readonly node: RaftNode,
    readonly clusterId: bigint,
    readonly memberId: bigint,
    private readonly membership: MembershipState,
    private readonly cfg: ServerConfig,
    private readonly log: Logger,
    private readonly metrics: ServerMetrics,
    private readonly lessor: Lessor,
    private readonly alarmStore: AlarmStore,
    private readonly authStore: AuthStore,
  ) {
    this.leases = new LeaseManager(lessor, {
      memberId,
      leader: () => this.leader,
      transport: () => node.transport,
      propose: (req) => this.propose(req),
      nextLeaseId: () => BigInt(this.ids.nextId()) & ((1n << 63n) - 1n),
      // Two heartbeats short of an election timeout: a follower's first tick after a heartbeat
      // may come at once, and clocks on two machines do not run at quite the same rate.
      confirmLeadership: () => this.reads.confirmLeadership(cfg.electionTimeoutMs - 2 * cfg.heartbeatIntervalMs),
      appliedCommitted: () => this.appliedCommitted(),
      requestTimeoutMs: this.requestTimeoutMs,
      log,
    });
    this.ids = new IdGenerator(memberId, Date.now());
    this.memberAdmin = new MemberAdmin({
      memberId,
      membership,
      learnerReady: (learner) => this.askLeader(() => node.learnerReady(learner), (leader) => node.transport.learnerReady(leader, learner)),
      activeVoters: () => this.askLeader(() => node.activeVoters()!, (leader) => node.transport.activeVoters(leader)),
      propose: async (change) => {
        this.ensureRunning();
        const id = this.ids.nextId();
        await this.submit(id, () => node.proposeConfChange(toConfChange(id, change)));
      },
    });
    this.stoppedByItself = new Promise((resolve) => {
      this.stopByItself = resolve;
    });
    // etcd's request timeout: 5 s plus two election timeouts.
    this.wait = new Wait(this.requestTimeoutMs);
    this.reads = new LinearizableReads(node, (i) => this.waitApplied(i), this.requestTimeoutMs);
    let lastTick = performance.now();
    this.ticker = setInterval(() => {
      // A tick this late means the event loop was blocked: heartbeats went out late and
      // followers may have started an election (etcd logs its missed heartbeats the same way).
      const now = performance.now();
      const lateMs = now - lastTick - cfg.heartbeatIntervalMs;
      lastTick = now;
      if (lateMs > cfg.heartbeatIntervalMs) log.warn('raft tick ran late: the event loop was blocked', { 'late-ms': Math.round(lateMs), 'heartbeat-ms': cfg.heartbeatIntervalMs });
      node.tick();
      this.wait.expire(now, () => ({ ok: false, error: new ServerError('timeout') }));
    }, cfg.heartbeatIntervalMs);
    this.quota = new QuotaGuard({
      quotaBytes: effectiveQuota(cfg.quotaBackendBytes), memberId, alarms: alarmStore, log,
      dbSize: () => engine.sizeOnDisk(),
      raiseNoSpace: () => this.alarm({ action: 'ACTIVATE', memberID: memberId.toString(), alarm: 'NOSPACE' }),
    });
    this.leaderTransfer = new LeaderTransfer({
      memberId, leader: () => this.leader, members: () => membership.list(), transfer: (to) => node.transferLeader(to),
      timeoutMs: this.requestTimeoutMs, log,
    });
    this.defragmenter = new Defragmenter(engine, metrics.defragSeconds, log);
    this.autoCompactor = cfg.autoCompaction && new AutoCompactor(cfg.autoCompaction, {
      isLeader: () => this.leader === memberId,
      currentRevision: () => store.currentRevision,
      compact: (revision) => this.compact({ revision: String(revision), physical: false }),
      log,
    });
  }

  static async start(cfg: ServerConfig, deps: ServerDeps): Promise<KeelServer> {
    const { engine, log } = deps;
    const identity = await bootstrapIdentity(engine, cfg, log, deps.discover);
    const store = await MvccStore.open(engine, log);
    const watchable = new WatchableStore(store, engine);
    const applied = decodeNumber(await engine.get(metaKey('applied-index'))) ?? 0;
    const lessor = new Lessor(deps.clock, minLeaseTtlSeconds(cfg));
    await LeaseManager.load(engine, store, lessor);
    const alarms = new AlarmStore();
    await alarms.load(engine);
    const tokens = cfg.jwt === undefined ? new SimpleTokens(deps.clock, (cfg.authTokenTtlSeconds ?? 300) * 1000) : new JwtTokens(cfg.jwt);
    const auth = new AuthStore(tokens);
    await auth.load(engine);
    const applier = new Applier(engine, store, identity.membership, lessor, applied, {
      applyConfChange: (cc) => raw.applyConfChange(cc),
      changed: (change) => server?.memberChanged(change),
    }, {
      alarms, auth, commitSeconds: (seconds) => metrics.backendCommitSeconds.observe(seconds),
      awaited: (id) => server?.wait.has(id) ?? false,
    });
    const logStore = await LogStore.open(engine, deps.walDir, log);
    const confState = identity.membership.confState();
    const storage = loadRaftStorage(logStore, applied);
    if (identity.isNew) {
      const { entries, hardState } = await writeBootstrapEntries(logStore, identity.membership.list());
      storage.append(entries);
      storage.setHardState(hardState);
    }
    const raw = new RawNode({
      id: identity.memberId,
      electionTicks: electionTicksOf(cfg),
      heartbeatTicks: 1,
      storage,
      applied,
      maxSizePerMsg: 1024 * 1024,
      maxInflightMsgs: 512,
      checkQuorum: true,
      preVote: true,
      confState,
      rand: deps.rand,
      logger: log,
    });
    let server: KeelServer | undefined;
    // Proposals made on this member still waiting for their apply: a metric, and a hint to the Ready loop.
    const proposalsWaiting = () => server?.wait.size ?? 0;
    const metrics = new ServerMetrics(deps.registry, {
      leader: () => raw.raft.lead,
      memberId: identity.memberId,
      committedIndex: () => raw.raft.log.committed,
      appliedIndex: () => applier.appliedIndex,
      pendingProposals: proposalsWaiting,
      currentRevision: () => store.currentRevision,
      dbSize: () => engine.sizeOnDisk(),
      dbSizeInUse: () => engine.sizeInUse(),
      quotaBytes: effectiveQuota(cfg.quotaBackendBytes),
      watchers: () => watchable.watcherCount,
      leaseTotals: () => lessor.totals,
    });
    const node = new RaftNode({
      raw, storage, logStore,
      transport: deps.transport(identity.memberId, identity.clusterId, identity.peers),
      snapshotCount: cfg.snapshotCount,
      activeWithinMs: cfg.electionTimeoutMs,
      log,
      stateMachine: {
        apply: async (entries) => {
          await applier.applyEntries(entries, (results) => {
            for (const { id, result } of results) server?.wait.trigger(id, result);
            server?.appliedAdvanced();
          });
        },
        dump: async () => {
          const snap = await engine.snapshot();
          return { pieces: dumpPieces(snap), close: () => snap.close() };
        },
        prepare: () => new StatePreparation(engine),
        install: async (snap, markInstalled, prepared) => {
          const startedAt = performance.now();
          // `prepared` is what prepare() above made; without it the state came whole in the message.
          const state = (prepared as StatePreparation | undefined) ?? await prepareWhole(engine, snap.data);
          log.info('installing snapshot from the leader', { index: snap.metadata.index, bytes: state.bytes, prepared: prepared !== undefined });
          await store.idle(); // a physical compaction must not delete what the snapshot brings
          // Until the store has reloaded, watchers must not read the new state's history as the old one's.
          watchable.replacingState();
          const index = await state.write(engine, snap.metadata.index, [markInstalled]);
          const writtenAt = performance.now();
          await store.reload(index);
          await LeaseManager.load(engine, store, lessor);
          // A snapshot always carries the membership (state-snapshot.ts).
          identity.membership.replaceWith((await MembershipState.load(engine))!);
          server?.membershipReplaced();
          await alarms.load(engine);
          await auth.load(engine);
          if (raw.raft.lead === identity.memberId) lessor.promote(cfg.electionTimeoutMs);
          watchable.restored();
          applier.resetAppliedIndex(snap.metadata.index);
          // Reads waiting for an index the snapshot covers: no apply may follow to wake them.
          server?.appliedAdvanced();
          log.info('installed snapshot from the leader', {
            index: snap.metadata.index, revision: store.currentRevision,
            'write-ms': Math.round(writtenAt - startedAt), 'load-ms': Math.round(performance.now() - writtenAt),
          });
        },
        appliedIndex: () => applier.appliedIndex,
      },
      onLeaseForward: (req) => server!.leases.answer(req),
      clusterInfo: () => ({ clusterId: identity.clusterId, members: identity.membership.list() }),
      isRemoved: (id) => identity.membership.isRemoved(id),
      // A member removed while it was cut off or down learns it from the others, as in etcd.
      onRemoved: () => server?.removedFromCluster(),
      proposalsWaiting,
      observe: { fsync: (s) => metrics.walFsyncSeconds.observe(s), apply: (s) => metrics.applySeconds.observe(s) },
      onLeaderChange: (lead, term) => {
        server?.leases.leadershipChanged(lead === identity.memberId, cfg.electionTimeoutMs);
        if (lead !== NONE) metrics.leaderChanges.inc();
        if (lead === NONE) log.warn('lost the leader', { term });
        else log.info('elected leader', { leader: lead.toString(16), term });
        if (lead !== NONE) server?.leaderKnown(lead === identity.memberId);
        server?.leaderTransfer.leaderChanged();
      },
    });
    server = new KeelServer(engine, store, watchable, applier, node, identity.clusterId, identity.memberId, identity.membership, cfg, log, metrics, lessor, alarms, auth);
    // A member alone in its cluster need not wait an election timeout to lead.
    if (confState.voters.length === 1 && confState.voters[0] === identity.memberId) raw.campaign();
    node.kick();
    log.info('member is ready to serve', { 'applied-index': applied, revision: store.currentRevision });
    return server;
  }

  private get requestTimeoutMs(): number {
    return 5000 + 2 * this.cfg.electionTimeoutMs;
  }

  header(): HeaderFields {
    // As Long values, made once: protobufjs would parse decimal strings again for every response
    // (a watch fan-out writes thousands of headers per put).
    this.headerIds ??= { cluster_id: Long.fromString(this.clusterId.toString(), true), member_id: Long.fromString(this.memberId.toString(), true) };
    return { ...this.headerIds, raft_term: this.raftTerm };
  }

  get raftTerm(): number {
    return this.node.raw.raft.term;
  }

  get currentRevision(): number {
    return this.store.currentRevision;
  }

  /** Where the member's metrics are registered; the API layer adds its own there. */
  get registry(): Registry {
    return this.metrics.registry;
  }

  /** The leader this member knows of, or 0n. */
  get leader(): bigint {
    return this.node.raw.raft.lead;
  }

  async range(req: RangeRequest__Output): Promise<RangeResponse> {
    this.ensureServes(!req.serializable);
    if (!req.serializable) await this.reads.read();
    return applyRange(this.store.readView(), req);
  }

  async put(req: PutRequest__Output): Promise<PutResponse> {
    this.ensureServes(true);
    return (await this.propose<PutResponse>({ put: req, auth_revision: this.authCheckedAt() })).response;
  }

  async deleteRange(req: DeleteRangeRequest__Output): Promise<DeleteRangeResponse> {
    this.ensureServes(true);
    return (await this.propose<DeleteRangeResponse>({ delete_range: req, auth_revision: this.authCheckedAt() })).response;
  }

  async txn(req: TxnRequest__Output): Promise<TxnResponse> {
    // As etcd's interceptor: a learner serves Status and serializable Range only, never a Txn.
    this.ensureServes(true);
    if (isTxnReadOnly(req)) {
      // As etcd: a read-only txn is linearizable unless every range in it is serializable.
      if (!isTxnSerializable(req)) await this.reads.read();
      // A read-only txn has no put to check a lease for.
      return applyTxn(this.store.readView(), req, () => false, 'read');
    }
    return (await this.propose<TxnResponse>({ txn: req, auth_revision: this.authCheckedAt() })).response;
  }

  async compact(req: CompactionRequest__Output): Promise<CompactionResponse> {
    this.ensureServes(true);
    const result = await this.propose<CompactionResponse>({ compaction: req });
    if (req.physical) await result.physicalCompaction;
    return result.response;
  }

  members(): Member[] {
    return this.membership.list();
  }

  /** Watches a key range from `startRev` (0: from the next revision); see WatchableStore. */
  watch(key: Buffer, rangeEnd: Buffer, startRev: number, sink: WatchSink): WatchHandle {
    this.ensureRunning();
    return this.watchable.watch(spanOf(key, rangeEnd), startRev, sink);
  }

  /** The key's value just before `modRevision`, for watch events with prev_kv; none if compacted. */
  async previousKv(key: Buffer, modRevision: number): Promise<KeyValue | undefined> {
    try {
      const r = await this.store.readView().range(spanOf(key, EMPTY_BYTES), { rev: modRevision - 1, limit: 1, countOnly: false });
      return r.kvs[0];
    } catch (err) {
      if (err instanceof CompactedError) return undefined;
      throw err;
    }
  }

  /** The newest revision whose events every synced watcher has been given. */
  get watchRevision(): number {
    return this.store.flushedRev;
  }

  /**
   * Once a leader is known: publish this member's name and client URLs through the log (etcd
   * does the same at start), and as leader record the cluster version if nobody has yet.
   */
  private leaderKnown(isLeader: boolean): void {
    if (!this.published) {
      this.published = true;
      void this.untilDone('publish member attributes', () => this.propose({
        member_attributes: { member_id: this.memberId.toString(), name: this.cfg.name, client_urls: this.cfg.advertiseClientUrls },
      }));
    }
    if (isLeader && this.membership.clusterVersion() === undefined) {
      void this.untilDone('set cluster version', () => this.propose({ cluster_version: { version: ETCD_CLUSTER_VERSION } }));
    }
  }

  /** Retries a proposal the member makes for itself until it commits or the member stops. */
  private async untilDone(what: string, propose: () => Promise<unknown>): Promise<void> {
    while (!this.stopped) {
      try {
        await propose();
        this.log.info(`${what}: done`);
        return;
      } catch (err) {
        this.log.warn(`${what}: will retry`, { error: (err as Error).message });
        await new Promise((r) => setTimeout(r, this.cfg.heartbeatIntervalMs * 5));
      }
    }
  }

  async status(): Promise<MemberStatus> {
    const s = this.node.raw.status();
    return {
      // As etcd: the raft index reported is the committed one.
      leader: s.lead, raftIndex: s.commit, raftTerm: s.term, raftAppliedIndex: this.applier.appliedIndex,
      dbSize: await this.engine.sizeOnDisk(),
      dbSizeInUse: await this.engine.sizeInUse(),
    };
  }

  /** A committed membership change took effect: keep the transport in step, or leave if removed. */
  private memberChanged(change: MemberChange): void {
    const { id, peerURLs } = change.member;
    if (change.type === 'remove' && id === this.memberId) {
      this.removedFromCluster();
    } else if (change.type === 'remove') {
      this.node.transport.removePeer(id);
    } else {
      this.node.transport.setPeer(id, peerURLs);
    }
  }

  /** A snapshot brought a whole new membership. */
  private membershipReplaced(): void {
    if (this.membership.isRemoved(this.memberId)) {
      this.removedFromCluster();
      return;
    }
    for (const m of this.membership.list()) this.node.transport.setPeer(m.id, m.peerURLs);
  }

  /**
   * As etcd: a removed member stops, a few heartbeats later so that, as leader, it can still tell
   * the others that its removal committed. Requests get 'server stopped' from then on.
   */
  private removedFromCluster(): void {
    if (this.stopping !== undefined || this.removalNoticed) return;
    this.removalNoticed = true;
    const reason = 'the member has been permanently removed from the cluster';
    this.log.warn(reason, { 'local-member-id': this.memberId.toString(16) });
    setTimeout(() => void this.stop().then(() => this.stopByItself(reason)), 10 * this.cfg.heartbeatIntervalMs);
  }

  isLearner(): boolean {
    return this.membership.member(this.memberId)?.isLearner ?? false;
  }

  /** Maintenance.Alarm: every action, a GET included, goes through the log as in etcd. */
  async alarm(req: AlarmRequest__Output): Promise<AlarmResponse> {
    return (await this.propose<AlarmResponse>({ alarm: req })).response;
  }

  /**
   * An Auth service call through the log (reads too, so they are linearizable). Passwords are
   * hashed here, before proposing: only hashes reach the log, the disk and the other members.
   */
  async authRequest(req: AuthRequest): Promise<object> {
    if (req.user_add != null && !req.user_add.options?.no_password) {
      req = { user_add: { ...req.user_add, password: '', hashedPassword: await hashPassword(String(req.user_add.password ?? '')) } };
    }
    if (req.user_change_password != null) {
      const change = req.user_change_password;
      req = { user_change_password: { ...change, password: '', hashedPassword: await hashPassword(String(change.password ?? '')) } };
    }
    return (await this.propose<object>({ auth: req })).response;
  }

  /**
   * Auth.Authenticate: the password is checked here, then the new token goes through the log to
   * every member. Checked again if auth changed before the token was applied: the password may
   * have been changed meanwhile.
   */
  async authenticate(name: string, password: string): Promise<{ token: string }> {
    for (;;) {
      if (!this.authStore.isEnabled) throw new ServerError('auth-not-enabled');
      const checkedAt = this.authStore.currentRevision;
      const hash = this.authStore.passwordOf(name);
      if (hash === '') throw new ServerError('no-password-user');
      if (hash === undefined || !(await verifyPassword(password, hash))) throw new ServerError('auth-failed');
      const token = this.authStore.tokens.issue(name, checkedAt);
      try {
        return (await this.propose<{ token: string }>({ auth: { authenticate: { name, simple_token: token, auth_revision: checkedAt } } })).response;
      } catch (err) {
        if (!(err instanceof ServerError && err.reason === 'auth-old-revision')) throw err;
      }
    }
  }

  /**
   * Who makes a call, from its token or else its client certificate's common name; undefined
   * while auth is off (everyone may do everything). With auth on, an unknown or expired token and
   * a call with neither are refused as etcd refuses them. The common name is asked for only then:
   * reading the peer certificate is wasted on every call while auth is off. A JWT's auth revision
   * comes along: only key permission checks (checkPermitted) refuse one issued before an auth change.
   */
  caller(token: string | undefined, commonName: () => string | undefined): TokenHolder | undefined {
    if (!this.authStore.isEnabled) return undefined;
    if (token !== undefined) {
      const holder = this.authStore.tokens.holder(token);
      if (holder === undefined) throw new ServerError('invalid-auth-token');
      return holder;
    }
    const cn = commonName();
    if (cn !== undefined && this.authStore.hasUser(cn)) return { user: cn };
    throw new ServerError('user-empty');
  }

  /**
   * Refuses a caller (from caller()) without the access to every key of [key, rangeEnd). As etcd's
   * isOpPermitted, a JWT issued before the last auth change is refused first, even root's: the
   * permissions it was checked against may have changed.
   */
  checkPermitted(caller: TokenHolder | undefined, key: Uint8Array, rangeEnd: Uint8Array, access: 'read' | 'write'): void {
    if (caller === undefined) return;
    if (caller.revision !== undefined && caller.revision < this.authStore.currentRevision) throw new ServerError('auth-old-revision');
    if (!this.authStore.isPermitted(caller.user, Buffer.from(key), Buffer.from(rangeEnd), access)) {
      throw new ServerError('permission-denied');
    }
  }

  /**
   * Refuses a caller without the root role (maintenance, membership and auth management). As
   * etcd's IsAdminPermitted: the token's auth revision is not looked at, and a user that is gone
   * (a JWT outlives its user) is "not found".
   */
  checkAdmin(caller: TokenHolder | undefined): void {
    if (caller === undefined) return;
    if (!this.authStore.hasUser(caller.user)) throw new ServerError('user-not-found');
    if (!this.authStore.isAdmin(caller.user)) throw new ServerError('permission-denied');
  }

  /** Whether the caller holds the role (a user may read its own roles: RoleGet). */
  callerHasRole(caller: TokenHolder, role: string): boolean {
    return this.authStore.hasRole(caller.user, role);
  }

  /** The keys attached to a lease (revoking it deletes them, so the caller must be allowed to). */
  leaseKeys(id: bigint): Buffer[] {
    return [...(this.leases.lessor.lookup(id)?.keys ?? [])].map(fromKeyString);
  }

  /** The alarms active as this member has applied them (Status lists them). */
  activeAlarms(): AlarmMember[] {
    return this.alarmStore.list();
  }

  /** Maintenance.HashKV: see MvccStore.hashByRev. */
  hashKv(revision: number): ReturnType<MvccStore['hashByRev']> {
    this.ensureRunning();
    return this.store.hashByRev(revision);
  }

  /** Maintenance.Hash: a checksum of every replicated record as stored, at one instant. */
  async hash(): Promise<number> {
    this.ensureRunning();
    return this.readAtOneInstant(hashStore);
  }

  /** Maintenance.Defragment. */
  defragment(): Promise<void> {
    this.ensureRunning();
    return this.defragmenter.defragment();
  }

  /**
   * Maintenance.Snapshot: the replicated state at one instant, in the format followers receive.
   * Every apply writes one atomic batch, so any instant of the engine is a consistent state.
   */
  async snapshot(): Promise<Buffer> {
    this.ensureRunning();
    return this.readAtOneInstant(dumpState);
  }

  /** Runs `read` on an engine snapshot holding every write asked for so far, then closes it. */
  private async readAtOneInstant<T>(read: (snap: EngineSnapshot) => Promise<T>): Promise<T> {
    const snap = await this.engine.snapshot();
    try {
      return await read(snap);
    } finally {
      await snap.close();
    }
  }

  /** Maintenance.MoveLeader. */
  moveLeader(target: bigint): Promise<void> {
    this.ensureRunning();
    return this.leaderTransfer.moveTo(target);
  }

  /** Stops taking requests and waits for the Ready loop and background work to finish. */
  stop(): Promise<void> {
    this.stopping ??= this.shutDown();
    return this.stopping;
  }

  private async shutDown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.ticker);
    this.autoCompactor?.stop();
    this.leases.stop();
    this.reads.stop();
    await this.watchable.close();
    await this.node.stop();
    await this.store.idle();
    this.wait.triggerAll({ ok: false, error: new ServerError('stopped') });
    // Only saves time at the next start: a failure here loses nothing, that start rebuilds the index.
    await this.store.saveIndexCheckpoint(this.lessor.leasedKeys()).catch((err: unknown) => {
      this.log.warn('could not save the key index for the next start', { error: String(err) });
    });
  }

  /**
   * The auth revision a client write was checked at. The guard checks a call's permissions in the
   * same turn of the event loop as the handler reaches here, so the revision now is the one checked.
   * Sent with auth off too: a write that passed unchecked must not apply once auth is on.
   */
  private authCheckedAt(): number {
    return this.authStore.currentRevision;
  }

  private async propose<T>(req: InternalRequest): Promise<{ response: T; physicalCompaction?: Promise<void> }> {
    this.ensureRunning();
    await this.quota.admit(req);
    // A stop during the quota check has already settled every waiter (wait.triggerAll) and
    // stopped the Ready loop and the ticker: a waiter registered now would never be settled.
    this.ensureRunning();
    const id = this.ids.nextId();
    const data = encodeInternalRequest({ ...req, id });
    if (data.length > this.cfg.maxRequestBytes) throw new ServerError('request-too-large');
    const result = await this.submit(id, () => this.node.propose(data));
    return { response: result.response as T, physicalCompaction: result.physicalCompaction };
  }

  /** What only the leader knows: answered here if this member leads, else asked of the leader. */
  private async askLeader<T>(here: () => T, ask: (leader: NodeId) => Promise<T>): Promise<T> {
    const leader = this.leader;
    if (leader === NONE) throw new ServerError('no-leader');
    if (leader === this.memberId) return here();
    return ask(leader).catch(() => {
      throw new ServerError('no-leader');
    });
  }

  /** Hands a proposal to Raft and waits until it is applied here, or fails, or times out. */
  private async submit(id: string, send: () => void): Promise<ApplyResult & { ok: true }> {
    const done = this.wait.register(id);
    try {
      send();
    } catch (err) {
      if (!(err instanceof ProposalDroppedError)) throw err;
      this.wait.trigger(id, { ok: false, error: new ServerError('no-leader') });
    }
    const result = await done;
    if (!result.ok) {
      // Proposals that never made it (not apply results such as a missing key) count as failed.
      if (result.error instanceof ServerError && FAILED_PROPOSAL.has(result.error.reason)) this.metrics.proposalsFailed.inc();
      throw result.error;
    }
    return result;
  }

  private waitApplied(index: number): Promise<void> {
    if (this.applier.appliedIndex >= index) return Promise.resolve();
    return new Promise((resolve) => this.appliedWaiters.push({ index, resolve }));
  }

  private appliedAdvanced(): void {
    const applied = this.applier.appliedIndex;
    for (let i = this.appliedWaiters.length - 1; i >= 0; i--) {
      const w = this.appliedWaiters[i]!;
      if (w.index <= applied) {
        this.appliedWaiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  /**
   * As etcd 3.5's waitAppliedIndex before a leader renews a lease or says how long it has: what this
   * member knows is committed (a lease a follower granted and answered for, say) is applied first.
   * Fails after etcd's applyTimeout, 1 s.
   */
  private appliedCommitted(): Promise<void> {
    const committed = this.node.raw.raft.log.committed;
    // The usual case, on every keep-alive: nothing to wait for, so no timer and no race.
    if (this.applier.appliedIndex >= committed) return Promise.resolve();
    const applied = this.waitApplied(committed);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ServerError('timeout')), APPLY_TIMEOUT_MS);
    });
    return Promise.race([applied, late]).finally(() => clearTimeout(timer));
  }

  /** As etcd: a learner serves serializable reads only; the rest go to voting members. */
  ensureServes(writeOrLinearizable: boolean): void {
    this.ensureRunning();
    if (writeOrLinearizable && this.isLearner()) throw new ServerError('not-supported-for-learner');
  }

  private ensureRunning(): void {
    if (this.stopped) throw new ServerError('stopped');
  }
}

const FAILED_PROPOSAL = new Set(['timeout', 'no-leader', 'stopped']);

/** etcd's applyTimeout: the longest a leader waits to apply what it knows committed before a lease answer. */
const APPLY_TIMEOUT_MS = 1000;

/** Raft's election timeout in whole heartbeat ticks, as etcd divides them. */
function electionTicksOf(cfg: ServerConfig): number {
  return Math.floor(cfg.electionTimeoutMs / cfg.heartbeatIntervalMs);
}

/** etcd's minimum lease TTL: one and a half election timeouts in whole ticks, rounded up to seconds. */
function minLeaseTtlSeconds(cfg: ServerConfig): number {
  return Math.ceil((Math.floor((3 * electionTicksOf(cfg)) / 2) * cfg.heartbeatIntervalMs) / 1000);
}

/**
 * A new cluster's log starts as etcd's does: one configuration entry per initial member, all
 * committed in term 1, so the first election is for term 2.
 */
export async function writeBootstrapEntries(logStore: LogStore, members: Member[]): Promise<{ entries: LogEntry[]; hardState: StoredHardState }> {
  const entries = members.map((m, i) => ({
    index: i + 1, term: 1, type: 'conf-change' as const,
    // No one waits on these; every member applies them, a joining one included.
    data: Buffer.from(encodeConfChange(toConfChange('0', { type: 'add', member: m }))),
  }));
  const hardState = { term: 1, vote: NONE, commit: entries.length };
  await logStore.save(entries, hardState, 'here');
  return { entries, hardState };
}

/** A read-only txn whose every range is serializable, as etcd's isTxnSerializable. */
function isTxnSerializable(req: TxnRequest__Output): boolean {
  return [...req.success, ...req.failure].every((op) => op.request_range?.serializable === true);
}
