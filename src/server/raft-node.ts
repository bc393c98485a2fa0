import { ProposalDroppedError, StepLocalMessageError, StepPeerNotFoundError } from '../raft/errors';
import { RawNode } from '../raft/raw-node';
import { ConfChange } from '../raft/conf-change';
import { MemoryStorage } from '../raft/storage';
import { Entry, Message, NodeId, NONE, Ready, Snapshot, SnapshotMetadata } from '../raft/types';
import { EngineOp } from '../storage/engine';
import { LogStore } from '../storage/log-store';
import { WalWrite } from '../storage/wal';
import { ClusterInfo, LeaseForward, LeaseForwardReply, PeerTransport, SnapshotIntake } from '../transport/transport';
import { invariant } from '../util/invariant';
import { Logger } from '../util/logger';
import { secondsSince } from './metrics';

/** How much of the leader's log a learner needs before promotion (etcd's readyPercent). */
const LEARNER_READY_FRACTION = 0.9;

/** A synced log write slower than this is logged, as etcd does (its warnSyncDuration). */
const SLOW_FSYNC_SECONDS = 1;
/** A Ready with this many entries has company: see syncMode. */
const COMPANY_ENTRIES = 4;

/** Entries kept behind a snapshot so a slightly slow follower catches up from the log (etcd's value). */
export const SNAPSHOT_CATCH_UP_ENTRIES = 5000;

/**
 * Bounds on the log held in memory, whatever --snapshot-count says, for large entries: 100,000
 * txns of 100 puts of 256 bytes are 2.9 GB. A snapshot is taken once the log holds this much
 * entry data; etcd has no such bound (a million keys put in txns of 100 left it, and us, holding
 * 290 MB of applied log, all read back at every start).
 */
export const LOG_BYTES_BEFORE_SNAPSHOT = 128 << 20;
/** At most this much entry data stays behind a snapshot, fewer entries than SNAPSHOT_CATCH_UP_ENTRIES if need be. */
export const SNAPSHOT_CATCH_UP_BYTES = 32 << 20;

/** What the member does with committed entries and snapshots; the Ready loop awaits each. */
export interface StateMachine {
  /** Applies committed entries in order (empty ones included, to advance the applied index). */
  apply(entries: Entry[]): Promise<void>;
  /**
   * The applied state, for a follower behind the compacted log. Called between applies; the state
   * is fixed once the promise resolves, and read as the pieces are. Close the dump when done.
   */
  dump(): Promise<StateDump>;
  /**
   * Starts preparing to install a snapshot whose state is arriving, given its pieces as they come:
   * the install then has less left to do, and the state need not also be gathered in the message.
   * Raft may still refuse the snapshot; the preparation is then dropped.
   */
  prepare(metadata: SnapshotMetadata): SnapshotIntake;
  /**
   * Replaces the state with a snapshot's; `markInstalled` goes in the batch that completes it.
   * `prepared` is what prepare() returned for it, whole, when its state arrived through it;
   * otherwise the snapshot's data holds the state.
   */
  install(snapshot: Snapshot, markInstalled: EngineOp, prepared: SnapshotIntake | undefined): Promise<void>;
  appliedIndex(): number;
}

export interface StateDump {
  pieces: AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}

export interface RaftNodeOptions {
  raw: RawNode;
  storage: MemoryStorage;
  logStore: LogStore;
  transport: PeerTransport;
  stateMachine: StateMachine;
  snapshotCount: number;
  /** A voter heard from within this long counts as active (activeVoters). */
  activeWithinMs: number;
  log: Logger;
  /** Told when this member learns of a new leader (or of none). */
  onLeaderChange(lead: NodeId, term: number): void;
  /** Answers a follower's lease question (this member as leader). */
  onLeaseForward(req: LeaseForward): Promise<LeaseForwardReply>;
  /** The cluster as this member knows it, for a joining member. */
  clusterInfo(): ClusterInfo;
  isRemoved(id: NodeId): boolean;
  /** A peer said this member was removed. */
  onRemoved(): void;
  /** How many clients wait for proposals made on this member. */
  proposalsWaiting(): number;
  /** Told how long each synced log write and each apply took, in seconds. */
  observe: { fsync(seconds: number): void; apply(seconds: number): void };
}

/**
 * The member's Ready loop around the Raft core, in etcd's order: persist entries and hard state
 * (one batch, fsynced when Raft says so), send messages, hand committed entries to the applier,
 * advance. Everything that can make Raft ready (a tick, a message, a proposal) kicks the loop.
 *
 * Committed entries are applied behind the loop, one batch after another, as etcd's apply
 * goroutine does: a long apply (a DeleteRange of 100,000 keys) must not hold back heartbeats and
 * their answers, or a loaded cluster elects for nothing. The loop waits for the applier before a
 * snapshot or a configuration change, and when a second batch would queue behind a running one.
 */
export class RaftNode {
  private running: Promise<void> | undefined;
  /** The applies handed over and not yet done, in order; resolved when the applier is idle. */
  private applying: Promise<void> = Promise.resolve();
  private applyQueued = 0;
  private again = false;
  private stopped = false;
  private readonly readStateHandlers = new Set<(ctx: Uint8Array, index: number) => void>();
  private lastLeader: NodeId = NONE;
  /** When a message from each peer last reached Raft (performance.now()), for activeVoters(). */
  private readonly heardAt = new Map<NodeId, number>();
  /** The intake of the snapshot whose state is arriving (as the transport holds it), and the preparation behind it. */
  private arriving: { intake: SnapshotIntake; preparation: SnapshotIntake } | undefined;
  /** A snapshot Raft took, prepared, until it is installed. */
  private prepared: { snapshot: Snapshot; intake: SnapshotIntake } | undefined;

  constructor(private readonly o: RaftNodeOptions) {
    o.transport.attach({
      receive: (m) => this.step(m),
      snapshotIntake: (head) => this.snapshotIntake(head.snapshot!.metadata),
      snapshotArrived: (head, intake) => this.snapshotArrived(head, intake),
      unreachable: (to) => {
        o.raw.reportUnreachable(to);
        this.kick();
      },
      snapshotSent: (to, failed) => {
        o.raw.reportSnapshot(to, failed);
        this.kick();
      },
      leaseRequest: (req) => o.onLeaseForward(req),
      clusterInfo: () => o.clusterInfo(),
      isRemoved: (id) => o.isRemoved(id),
      removed: () => o.onRemoved(),
      learnerReady: (learner) => this.learnerReady(learner),
      activeVoters: () => this.activeVoters(),
    });
  }

  get transport(): PeerTransport {
    return this.o.transport;
  }

  get raw(): RawNode {
    return this.o.raw;
  }

  tick(): void {
    this.o.raw.tick();
    this.kick();
  }

  /** Throws ProposalDroppedError when no leader is known. */
  propose(data: Uint8Array): void {
    this.o.raw.propose(data);
    this.kick();
  }

  readIndex(ctx: Uint8Array): void {
    this.o.raw.readIndex(ctx);
    this.kick();
  }

  onReadState(handler: (ctx: Uint8Array, index: number) => void): () => void {
    this.readStateHandlers.add(handler);
    return () => this.readStateHandlers.delete(handler);
  }

  /**
   * As etcd: a learner may be promoted once it has at least 90% of the leader's log, so that
   * the new voter does not hold up commits while it catches up. Meaningful on the leader only.
   */
  learnerReady(learner: NodeId): boolean {
    const raft = this.o.raw.raft;
    const pr = raft.prs.get(learner);
    if (raft.state !== 'leader' || pr === undefined) return false;
    return pr.match >= raft.prs.get(raft.id)!.match * LEARNER_READY_FRACTION;
  }

  /**
   * Voters this member, as leader, has heard from within `activeWithinMs`, itself included; undefined
   * unless it leads. (Raft's own recentActive is cleared at every check-quorum round, and for a
   * heartbeat's round trip after it showed the leader alone.)
   */
  activeVoters(): Set<NodeId> | undefined {
    const raft = this.o.raw.raft;
    if (raft.state !== 'leader') return undefined;
    const since = performance.now() - this.o.activeWithinMs;
    return new Set([...raft.prs].filter(([id, pr]) => !pr.isLearner && (id === raft.id || (this.heardAt.get(id) ?? -Infinity) >= since)).map(([id]) => id));
  }

  proposeConfChange(cc: ConfChange): void {
    this.o.raw.proposeConfChange(cc);
    this.kick();
  }

  transferLeader(to: NodeId): void {
    this.o.raw.transferLeader(to);
    this.kick();
  }

  private step(m: Message): void {
    if (this.stopped) return;
    this.heardAt.set(m.from, performance.now());
    try {
      this.o.raw.step(m);
    } catch (err) {
      // A forwarded proposal meeting a leaderless node, a reply from a removed member, or a
      // message of a type only a node makes for itself (MsgHup, MsgBeat...), which etcd's
      // node.Step also drops when it comes from the network.
      const dropped = err instanceof ProposalDroppedError || err instanceof StepPeerNotFoundError || err instanceof StepLocalMessageError;
      if (!dropped) throw err;
    }
    this.kick();
  }

  /**
   * One snapshot is prepared at a time: each holds a state's worth of memory until installed. A
   * new one arriving (from a new leader, say) replaces the one still arriving.
   */
  private snapshotIntake(metadata: SnapshotMetadata): SnapshotIntake {
    this.arriving?.preparation.drop();
    const preparation = this.o.stateMachine.prepare(metadata);
    const intake: SnapshotIntake = {
      add: (piece) => preparation.add(piece),
      drop: () => {
        preparation.drop();
        if (this.arriving?.intake === intake) this.arriving = undefined;
      },
      unfit: () => (this.arriving?.intake === intake ? preparation.unfit() : 'superseded by a newer snapshot'),
    };
    this.arriving = { intake, preparation };
    return intake;
  }

  /**
   * A snapshot's state came whole through `intake`: Raft gets the message, and the preparation is
   * kept if Raft took the snapshot to install, dropped if not. A state that did not come whole, or
   * whose preparation a newer snapshot replaced, is refused before Raft sees it.
   */
  private snapshotArrived(head: Message, intake: SnapshotIntake): string | undefined {
    const refused = intake.unfit();
    if (refused !== undefined) {
      intake.drop();
      return refused;
    }
    const { preparation } = this.arriving!; // unfit() said `intake` is the one arriving
    this.arriving = undefined;
    this.step(head);
    if (this.o.raw.raft.log.unstable.snapshot !== head.snapshot) {
      preparation.drop();
      return undefined;
    }
    this.prepared?.intake.drop();
    this.prepared = { snapshot: head.snapshot!, intake: preparation };
    return undefined;
  }

  /** Runs the Ready loop until Raft has nothing more, unless it is running already. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    // The loop starts on the next microtask, so `running` is set before any of it runs: its first
    // Ready can call back into kick() synchronously (a read-state handler starting the next
    // read-index round), and a second loop taking a Ready before the first one's advance() would
    // apply the same committed entries twice.
    this.running = Promise.resolve().then(() => this.loop()).finally(() => {
      this.running = undefined;
      // A kick between the loop's last check and here found it still running: honour it.
      if (this.again) this.kick();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    while (this.running) await this.running;
    await this.applying;
    await this.o.transport.close();
    await this.o.logStore.close();
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      while (!this.stopped && this.o.raw.hasReady()) await this.handle(this.o.raw.ready());
    } while (this.again && !this.stopped);
  }

  /**
   * Where a Ready's synced write runs ('none': Raft asks no sync). With nothing else for the event
   * loop to do (a few entries, and at most one client waiting here) the loop waits in the call: a
   * wake-up sooner, a single-client put 0.12 ms faster. Otherwise the thread pool writes while the
   * loop takes the next requests and, on a leader, the followers' answers. Under 64 clients a member that synced a Ready itself
   * whenever it carried every waiting proposal still did so for a fifth of its Readies (the loop,
   * held in the call, let the waiting clients pile into the next Ready), spent 15 % of its loop
   * there and put 6-12 % less than with the pool.
   */
  private syncMode(rd: Ready): WalWrite | 'none' {
    if (!rd.mustSync) return 'none';
    return rd.entries.length < COMPANY_ENTRIES && this.o.proposalsWaiting() <= 1 ? 'here' : 'in-background';
  }

  private async handle(rd: Ready): Promise<void> {
    const { storage, logStore, stateMachine } = this.o;
    // A leader sends its appends before its own fsync, so followers write in parallel with it
    // (Raft thesis 10.2.1, as etcd does): an entry still commits only once it is durable on a
    // majority, and nothing is applied or acknowledged here before this Ready's write is done.
    // A follower must persist first: its replies promise what it has written; so must a new
    // leader whose term and vote are not yet on disk. Judged by the state the Ready was taken in:
    // an install below awaits, and the node may have won an election meanwhile.
    const saved = storage.initialState().hardState;
    const early = this.o.raw.raft.state === 'leader'
      && (rd.hardState === undefined || (rd.hardState.term === saved.term && rd.hardState.vote === saved.vote));
    if (rd.snapshot) {
      // The preparation is taken before waiting for the applies: a newer snapshot arriving during
      // the wait must not find it in `prepared` and drop it (this install would then have no state).
      const prepared = this.prepared?.snapshot === rd.snapshot ? this.prepared.intake : undefined;
      if (prepared === undefined) this.prepared?.intake.drop();
      this.prepared = undefined;
      await this.applying;
      const meta = snapshotMeta(rd.snapshot);
      await stateMachine.install(rd.snapshot, logStore.snapshotMetaOp(meta), prepared);
      // The state is in the engine now; Raft keeps only where the snapshot stands.
      storage.applySnapshot({ metadata: rd.snapshot.metadata, data: new Uint8Array() });
      logStore.reset(meta);
    }
    // The transport has written them to the sockets when send() returns, before the save below
    // may hold the event loop for its fsync.
    if (early) this.send(rd.messages);
    // A hard state that only moved the commit index needs no sync (Raft says when one is due): it
    // goes to disk with the next write, and a commit lost in a crash is raised to the applied
    // index at the next start.
    if (rd.entries.length > 0 || rd.hardState) {
      const started = process.hrtime.bigint();
      await logStore.save(rd.entries, rd.hardState && { ...rd.hardState }, this.syncMode(rd));
      if (rd.mustSync) {
        const seconds = secondsSince(started);
        this.o.observe.fsync(seconds);
        // etcd's warning: the loop (heartbeats included) waited this long on the disk.
        if (seconds > SLOW_FSYNC_SECONDS) this.o.log.warn('slow fdatasync', { took: `${seconds.toFixed(3)}s`, 'expected-duration': `${SLOW_FSYNC_SECONDS}s` });
      }
    }
    storage.append(rd.entries);
    if (rd.hardState) storage.setHardState(rd.hardState);
    if (!early) this.send(rd.messages);
    if (rd.softState && rd.softState.lead !== this.lastLeader) {
      this.lastLeader = rd.softState.lead;
      this.o.onLeaderChange(rd.softState.lead, this.o.raw.raft.term);
    }
    if (rd.committedEntries.length > 0) {
      // One batch applying and one waiting at most: beyond that the loop waits, so a slow applier
      // slows proposals down instead of piling up committed entries in memory.
      if (this.applyQueued > 1) await this.applying;
      this.queueApply(rd.committedEntries);
      // Raft takes the next configuration change only once it knows this one is applied.
      if (rd.committedEntries.some((e) => e.type === 'conf-change')) await this.applying;
    }
    // Reads wait for the applied index themselves (LinearizableReads), so they need not wait here.
    for (const rs of rd.readStates) for (const h of this.readStateHandlers) h(rs.requestCtx, rs.index);
    this.o.raw.advance(rd);
  }

  /** Applies after those already queued; a snapshot of the log may follow once they are written. */
  private queueApply(entries: Entry[]): void {
    this.applyQueued++;
    this.applying = this.applying.then(async () => {
      const started = process.hrtime.bigint();
      await this.o.stateMachine.apply(entries);
      this.o.observe.apply(secondsSince(started));
      this.applyQueued--;
      await this.maybeSnapshot(entries[entries.length - 1]!.index);
    });
  }

  private send(messages: Message[]): void {
    const snapshots = messages.filter((m) => m.type === 'MsgSnap');
    this.o.transport.send(snapshots.length === 0 ? messages : messages.filter((m) => m.type !== 'MsgSnap'));
    for (const m of snapshots) this.sendSnapshot(m);
  }

  /**
   * A snapshot message carries the state as of now (etcd merges the same way): the applied index
   * and term replace Raft's snapshot metadata. Applies wait until the dump has fixed the state, so
   * the applied index and the state are the same instant; they go on while the pieces are read
   * and sent.
   */
  private sendSnapshot(m: Message): void {
    const fixed = this.applying.then(async () => {
      const applied = this.o.stateMachine.appliedIndex();
      const term = this.o.raw.raft.log.term(applied);
      invariant(term !== undefined, `no term for applied index ${applied}`);
      // The configuration too is the one as of the applied index, which Raft tracks.
      const metadata = { index: applied, term, confState: this.o.raw.raft.confState() };
      return { metadata, dump: await this.o.stateMachine.dump() };
    });
    this.applying = fixed.then(() => undefined, () => undefined);
    fixed.then(async ({ metadata, dump }) => {
      this.o.log.info('sending snapshot', { to: m.to.toString(16), index: metadata.index });
      try {
        await this.o.transport.sendSnapshot({ ...m, snapshot: { metadata, data: new Uint8Array() } }, dump.pieces);
      } finally {
        await dump.close();
      }
    }).catch((err: unknown) => {
      this.o.log.error('cannot dump state for a snapshot', { to: m.to.toString(16), error: String(err) });
      this.o.raw.reportSnapshot(m.to, true);
      this.kick();
    });
  }

  /**
   * Every --snapshot-count applied entries, or once the log holds LOG_BYTES_BEFORE_SNAPSHOT, folds
   * the log into a snapshot and trims it. Runs in the apply queue, right after `applied` was written
   * by the applier; no configuration change can be pending then (the loop waits for those), so
   * Raft's current configuration is the one at `applied`.
   */
  private async maybeSnapshot(applied: number): Promise<void> {
    const { storage, logStore, raw } = this.o;
    const sinceSnapshot = applied - storage.snapshot().metadata.index;
    const due = sinceSnapshot >= this.o.snapshotCount || (sinceSnapshot > 0 && storage.dataBytes >= LOG_BYTES_BEFORE_SNAPSHOT);
    if (!due) return;
    const snap = storage.createSnapshot(applied, raw.raft.confState(), new Uint8Array());
    const compactTo = Math.max(
      applied - SNAPSHOT_CATCH_UP_ENTRIES, storage.compactIndexKeeping(applied, SNAPSHOT_CATCH_UP_BYTES), storage.firstIndex(),
    );
    await logStore.saveSnapshotMeta(snapshotMeta(snap), compactTo);
    storage.compact(compactTo);
    this.o.log.info('saved snapshot and compacted the raft log', { index: applied, 'compacted-to': compactTo });
  }
}

function snapshotMeta(s: Snapshot) {
  return { index: s.metadata.index, term: s.metadata.term, voters: s.metadata.confState.voters, learners: s.metadata.confState.learners };
}

/**
 * Loads the Raft log from disk into memory at start. `applied` is the state's applied index: the
 * commit written without an fsync may have been lost while the state's batch was not, and entries
 * applied were committed.
 */
export function loadRaftStorage(logStore: LogStore, applied: number): MemoryStorage {
  const storage = new MemoryStorage();
  const { snapshot, entries, hardState } = logStore.load();
  if (snapshot !== undefined) {
    storage.applySnapshot({
      metadata: { index: snapshot.index, term: snapshot.term, confState: { voters: snapshot.voters, learners: snapshot.learners } },
      data: new Uint8Array(),
    });
  }
  storage.append(entries);
  invariant(applied <= storage.lastIndex(), () => `applied index ${applied} is beyond the log's last index ${storage.lastIndex()}`);
  if (hardState !== undefined) storage.setHardState({ ...hardState, commit: Math.max(hardState.commit, applied) });
  return storage;
}
