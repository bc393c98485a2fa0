import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RawNode } from '../raft/raw-node';
import { MemoryStorage } from '../raft/storage';
import { Entry, Message, message } from '../raft/types';
import { LoadedLog, LogStore } from '../storage/log-store';
import { tempEngineEachTest } from '../storage/testing/temp-engine';
import { SEGMENT_BYTES } from '../storage/wal';
import type { PeerTransport, SnapshotIntake, TransportReceiver } from '../transport/transport';
import { eventually } from '../util/eventually';
import { silentLogger } from '../util/logger';
import { SeededRand } from '../util/rand';
import { loadRaftStorage, LOG_BYTES_BEFORE_SNAPSHOT, RaftNode, SNAPSHOT_CATCH_UP_BYTES, StateMachine } from './raft-node';

/**
 * The Ready loop runs one Ready at a time, even when handling a Ready calls back into it. Found by
 * the chaos runner: a read-state handler starting the next read-index round kicked the loop from
 * inside the loop's first Ready, a second loop took a Ready before the first one's advance(), and
 * both applied the same committed entries ("applying entry 50 after 50", and the member exited).
 */
describe('RaftNode', () => {
  const t = tempEngineEachTest('keel-raft-node-');

  /** Member 1 of `voters` over the real log store; the state machine is the test's. */
  async function member(voters: bigint[], stateMachine: StateMachine): Promise<{
    raw: RawNode; node: RaftNode; storage: MemoryStorage; logStore: LogStore; fromPeer: (m: Message) => void;
    intake: (head: Message) => SnapshotIntake; arrived: (head: Message, intake: SnapshotIntake) => string | undefined;
  }> {
    const storage = new MemoryStorage();
    const raw = new RawNode({
      id: 1n, electionTicks: 10, heartbeatTicks: 1, storage, applied: 0, maxSizePerMsg: 1024 * 1024, maxInflightMsgs: 512,
      checkQuorum: false, preVote: false, confState: { voters, learners: [] }, rand: new SeededRand(1), logger: silentLogger,
    });
    let receiver: TransportReceiver | undefined;
    const transport: PeerTransport = {
      send: () => {}, sendSnapshot: () => Promise.resolve(), forwardLease: () => Promise.reject(new Error('alone')), attach: (r) => { receiver = r; },
      learnerReady: () => Promise.resolve(false), activeVoters: () => Promise.reject(new Error('alone')), setPeer: () => {}, removePeer: () => {}, close: () => Promise.resolve(),
    };
    const logStore = await LogStore.open(t.engine, join(t.dir, 'wal'), silentLogger);
    const node = new RaftNode({
      raw, storage, logStore, transport, snapshotCount: 100_000, activeWithinMs: 1000, log: silentLogger, stateMachine,
      onLeaderChange: () => {}, onLeaseForward: () => Promise.reject(new Error('alone')),
      clusterInfo: () => ({ clusterId: 1n, members: [] }), isRemoved: () => false, onRemoved: () => {},
      proposalsWaiting: () => 0,
      observe: { fsync: () => {}, apply: () => {} },
    });
    return {
      raw, node, storage, logStore, fromPeer: (m) => receiver!.receive(m),
      intake: (m) => receiver!.snapshotIntake(m), arrived: (m, intake) => receiver!.snapshotArrived(m, intake),
    };
  }

  /** A state machine that runs `onApply` for each batch and tracks the applied index. */
  function tracking(onApply: StateMachine['apply']): { machine: StateMachine; appliedIndex: () => number } {
    let appliedIndex = 0;
    const machine: StateMachine = {
      apply: async (entries) => {
        await onApply(entries);
        appliedIndex = entries[entries.length - 1]!.index;
      },
      dump: () => Promise.resolve({ pieces: (async function* () {})(), close: () => Promise.resolve() }),
      prepare: () => ({ add: () => Promise.resolve(), drop: () => {}, unfit: () => undefined }),
      install: () => Promise.resolve(),
      appliedIndex: () => appliedIndex,
    };
    return { machine, appliedIndex: machine.appliedIndex };
  }

  /** The log as the next start reads it back; once the node has stopped. */
  async function logOnDisk(): Promise<LoadedLog> {
    const logStore = await LogStore.open(t.engine, join(t.dir, 'wal'), silentLogger);
    try {
      return logStore.load();
    } finally {
      await logStore.close();
    }
  }

  /** A single-member cluster of `machine`, once it leads and has applied its first entry. */
  async function leadingAlone(machine: StateMachine): Promise<Awaited<ReturnType<typeof member>>> {
    const m = await member([1n], machine);
    m.raw.campaign();
    m.node.kick();
    await eventually('the node leads', () => m.raw.raft.state === 'leader' && machine.appliedIndex() >= 1);
    return m;
  }

  it('hands each committed entry to the state machine once when a read-state handler proposes and reads again', async () => {
    const applied: number[] = [];
    const { machine, appliedIndex } = tracking(async (entries: Entry[]) => {
      for (const e of entries) applied.push(e.index);
    });
    const { node } = await leadingAlone(machine);
    // As LinearizableReads does: each answered read starts the next round at once; here each
    // round also proposes, so the Ready the nested kick finds has entries to commit and apply.
    const rounds = 20;
    let answered = 0;
    node.onReadState(() => {
      if (++answered >= rounds) return;
      node.propose(Buffer.from(`p${answered}`));
      node.readIndex(Buffer.from(`r${answered}`));
    });
    node.readIndex(Buffer.from('r0'));
    await eventually('every round is answered and applied', () => answered >= rounds && appliedIndex() >= 1 + rounds - 1);
    await node.stop();
    assert.deepEqual(applied, Array.from({ length: applied.length }, (_, i) => i + 1), `entries applied out of order: ${applied.join(',')}`);
  });

  // Applies run behind the Ready loop. A batch queued while one is applying used to carry the hard
  // state of the Ready that queued it; a new term and vote saved before it was written were then
  // overwritten on disk by the older ones, and after a crash the member could vote twice in a term.
  // The hard state is now the WAL's alone, written by the loop in order.
  it('never writes an older term and vote over a newer one when an apply lands after an election', async () => {
    let gate: Promise<void> | undefined;
    let openGate = () => {};
    const { machine, appliedIndex } = tracking(async () => {
      if (gate !== undefined) await gate;
    });
    const { node, storage, fromPeer } = await member([1n, 2n], machine);
    // Member 2 leads term 2 and replicates one entry, then tells this follower it is committed: a
    // Ready that only moves the commit index.
    const entry = { index: 1, term: 2, type: 'normal' as const, data: Buffer.from('held') };
    fromPeer(message({ type: 'MsgApp', from: 2n, to: 1n, term: 2, index: 0, logTerm: 0, entries: [entry], commit: 0 }));
    await eventually('the entry is saved', () => storage.lastIndex() === 1);
    gate = new Promise((resolve) => { openGate = resolve; });
    fromPeer(message({ type: 'MsgApp', from: 2n, to: 1n, term: 2, index: 1, logTerm: 2, commit: 1 }));
    await eventually('the entry is committed and its apply is waiting', () => storage.initialState().hardState.commit === 1);
    // Member 2 campaigns in term 3: this member grants its vote and saves the new term and vote
    // while the apply still waits.
    fromPeer(message({ type: 'MsgVote', from: 2n, to: 1n, term: 3, index: 1, logTerm: 2 }));
    await eventually('the new term is saved', () => storage.initialState().hardState.term === 3);
    openGate();
    await eventually('the held entry is applied', () => appliedIndex() === 1);
    await node.stop();
    const onDisk = await logOnDisk();
    assert.deepEqual(onDisk.hardState, { term: 3, vote: 2n, commit: 1 }, 'the hard state on disk went back');
    assert.deepEqual(onDisk.entries.map((e) => [e.index, e.term, Buffer.from(e.data).toString()]), [[1, 2, 'held']]);
  });

  // --snapshot-count counts entries; with large ones the log held in memory (and read back at every
  // start) grew to hundreds of megabytes before it was trimmed.
  it('snapshots and trims a log of large entries once it holds LOG_BYTES_BEFORE_SNAPSHOT, keeping at most SNAPSHOT_CATCH_UP_BYTES', async function () {
    this.timeout(60_000);
    const { machine, appliedIndex } = tracking(() => Promise.resolve());
    const { node, storage } = await leadingAlone(machine);
    const entryBytes = 1 << 20;
    const proposals = LOG_BYTES_BEFORE_SNAPSHOT / entryBytes + 10;
    for (let i = 0; i < proposals; i++) {
      node.propose(Buffer.alloc(entryBytes, i));
      await eventually('the entry is applied', () => appliedIndex() === 2 + i);
    }
    await node.stop();
    const snapshotAt = storage.snapshot().metadata.index;
    assert.ok(snapshotAt > 0 && snapshotAt < 100_000, `a snapshot by size, at ${snapshotAt}`);
    assert.ok(storage.dataBytes < LOG_BYTES_BEFORE_SNAPSHOT, `${storage.dataBytes} bytes left in memory`);
    const behind = (snapshotAt - storage.firstIndex() + 1) * entryBytes;
    assert.ok(behind <= SNAPSHOT_CATCH_UP_BYTES && behind >= SNAPSHOT_CATCH_UP_BYTES - entryBytes, `${behind} bytes kept behind the snapshot`);
    const segments = readdirSync(join(t.dir, 'wal')).filter((name) => name.endsWith('.wal'));
    assert.ok(segments.length < Math.ceil((proposals * entryBytes) / SEGMENT_BYTES), `the WAL's oldest segments deleted: ${segments.join(', ')}`);
    const onDisk = await logOnDisk();
    assert.equal(onDisk.snapshot?.index, snapshotAt);
    assert.equal(onDisk.entries[0]?.index, snapshotAt + 1, 'the log read back resumes after the snapshot');
  });

  // A hard state that only moves the commit index is written without an fsync, while the state's
  // own batches record the applied index: a crash may keep the second and lose the first.
  it('raises a commit index lost with its unsynced write to the applied index at start', async () => {
    const logStore = await LogStore.open(t.engine, join(t.dir, 'wal'), silentLogger);
    logStore.load();
    const entries = [1, 2, 3].map((index) => ({ index, term: 1, type: 'normal' as const, data: Buffer.from(`e${index}`) }));
    await logStore.save(entries, { term: 1, vote: 1n, commit: 1 }, 'here');
    await logStore.close();
    const reopened = await LogStore.open(t.engine, join(t.dir, 'wal'), silentLogger);
    const storage = loadRaftStorage(reopened, 3);
    await reopened.close();
    assert.equal(storage.initialState().hardState.commit, 3);
    assert.equal(storage.lastIndex(), 3);
  });

  it('installs a snapshot with what was prepared as its state arrived, and drops the preparation of one Raft refuses', async () => {
    const made: Array<{ pieces: string[]; dropped: boolean; unfitAs?: string }> = [];
    const installs: Array<{ index: number; prepared: unknown; data: number }> = [];
    const machine: StateMachine = {
      apply: () => Promise.resolve(),
      dump: () => Promise.reject(new Error('a follower here')),
      prepare: () => {
        const p = {
          pieces: [] as string[], dropped: false, unfitAs: undefined as string | undefined,
          add: async (b: Buffer) => void p.pieces.push(b.toString()), drop: () => { p.dropped = true; }, unfit: () => p.unfitAs,
        };
        made.push(p);
        return p;
      },
      install: async (snap, _mark, prepared) => void installs.push({ index: snap.metadata.index, prepared, data: snap.data.length }),
      appliedIndex: () => installs[installs.length - 1]?.index ?? 0,
    };
    const { intake, arrived, storage } = await member([1n, 2n], machine);
    const head = (index: number): Message => ({
      ...message({ type: 'MsgSnap', to: 1n, from: 2n, term: 2 }),
      snapshot: { metadata: { index, term: 2, confState: { voters: [1n, 2n], learners: [] } }, data: new Uint8Array() },
    });
    const arrive = async (index: number) => {
      const taking = intake(head(index));
      await taking.add(Buffer.from(`state at ${index}`));
      return arrived(head(index), taking);
    };
    assert.equal(await arrive(10), undefined);
    await eventually('installed', () => installs.length === 1);
    assert.deepEqual(installs[0], { index: 10, prepared: made[0], data: 0 });
    assert.deepEqual(made[0]!.pieces, ['state at 10']);
    assert.equal(storage.snapshot().data.length, 0, 'Raft keeps where the snapshot stands, not its state');
    // Index 5 is behind what was installed: Raft refuses it, and its preparation goes.
    assert.equal(await arrive(5), undefined);
    assert.equal(made[1]!.dropped, true);
    assert.equal(installs.length, 1);
  });

  // The install of a snapshot waits for the applies before it; a newer snapshot arriving meanwhile
  // had taken the first one's preparation away (and then been dropped itself), so both were
  // installed without a state: the real install throws on that, and keel exits on the rejection.
  it('installs a snapshot whose newer successor arrived while it waited for earlier applies, then the newer one', async () => {
    const made: Array<{ dropped: boolean }> = [];
    const installs: Array<{ index: number; prepared: unknown }> = [];
    let release!: () => void;
    const applyHeld = new Promise<void>((resolve) => { release = resolve; });
    let applying = false;
    const machine: StateMachine = {
      apply: () => {
        applying = true;
        return applyHeld;
      },
      dump: () => Promise.reject(new Error('a follower here')),
      prepare: () => {
        const p = { dropped: false, add: async () => {}, drop: () => { p.dropped = true; }, unfit: () => undefined };
        made.push(p);
        return p;
      },
      install: async (snap, _mark, prepared) => void installs.push({ index: snap.metadata.index, prepared }),
      appliedIndex: () => installs[installs.length - 1]?.index ?? 0,
    };
    const { raw, intake, arrived, fromPeer } = await member([1n, 2n], machine);
    let readyWithSnapshot = 0;
    const ready = raw.ready.bind(raw);
    raw.ready = () => {
      const rd = ready();
      if (rd.snapshot) readyWithSnapshot = rd.snapshot.metadata.index;
      return rd;
    };
    const head = (index: number): Message => ({
      ...message({ type: 'MsgSnap', to: 1n, from: 2n, term: 2 }),
      snapshot: { metadata: { index, term: 2, confState: { voters: [1n, 2n], learners: [] } }, data: new Uint8Array() },
    });
    // One committed entry whose apply does not finish until released.
    fromPeer({ ...message({ type: 'MsgApp', to: 1n, from: 2n, term: 2 }), entries: [{ term: 2, index: 1, type: 'normal', data: new Uint8Array([1]) }], commit: 1 });
    await eventually('the apply of entry 1 started', () => applying);
    const a = intake(head(10));
    assert.equal(arrived(head(10), a), undefined);
    // The loop took the Ready carrying snapshot 10, which waits for the held apply; 20 arrives meanwhile.
    await eventually('the Ready with snapshot 10 taken', () => readyWithSnapshot === 10);
    assert.equal(installs.length, 0);
    const b = intake(head(20));
    assert.equal(arrived(head(20), b), undefined);
    release();
    await eventually('both installed', () => installs.length === 2);
    assert.deepEqual(installs, [{ index: 10, prepared: made[0] }, { index: 20, prepared: made[1] }]);
    assert.deepEqual(made.map((p) => p.dropped), [false, false]);
  });

  it('turns down a snapshot whose state did not come whole, or whose preparation a newer snapshot replaced, before Raft sees it', async () => {
    const made: Array<{ dropped: boolean; unfitAs?: string }> = [];
    const installs: number[] = [];
    const machine: StateMachine = {
      apply: () => Promise.resolve(),
      dump: () => Promise.reject(new Error('a follower here')),
      prepare: () => {
        const p = { dropped: false, unfitAs: undefined as string | undefined, add: async () => {}, drop: () => { p.dropped = true; }, unfit: () => p.unfitAs };
        made.push(p);
        return p;
      },
      install: async (snap) => void installs.push(snap.metadata.index),
      appliedIndex: () => installs[installs.length - 1] ?? 0,
    };
    const { raw, intake, arrived } = await member([1n, 2n], machine);
    const head = (index: number): Message => ({
      ...message({ type: 'MsgSnap', to: 1n, from: 2n, term: 2 }),
      snapshot: { metadata: { index, term: 2, confState: { voters: [1n, 2n], learners: [] } }, data: new Uint8Array() },
    });
    const older = intake(head(10));
    const newer = intake(head(20));
    assert.equal(made[0]!.dropped, true, 'one preparation at a time');
    assert.equal(arrived(head(10), older), 'superseded by a newer snapshot');
    made[1]!.unfitAs = 'state dump cut short at byte 7';
    assert.equal(arrived(head(20), newer), 'state dump cut short at byte 7');
    assert.equal(made[1]!.dropped, true);
    assert.equal(raw.raft.log.unstable.snapshot, undefined, 'Raft took neither');
    assert.deepEqual(installs, []);
  });
});
