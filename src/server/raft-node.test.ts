import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RawNode } from '../raft/raw-node';
import { MemoryStorage } from '../raft/storage';
import type { Entry } from '../raft/types';
import { LevelEngine } from '../storage/level-engine';
import { LogStore } from '../storage/log-store';
import type { PeerTransport } from '../transport/transport';
import { eventually } from '../util/eventually';
import { silentLogger } from '../util/logger';
import { SeededRand } from '../util/rand';
import { RaftNode } from './raft-node';

/**
 * The Ready loop runs one Ready at a time, even when handling a Ready calls back into it. Found by
 * the chaos runner: a read-state handler starting the next read-index round kicked the loop from
 * inside the loop's first Ready, a second loop took a Ready before the first one's advance(), and
 * both applied the same committed entries ("applying entry 50 after 50", and the member exited).
 */
describe('RaftNode', () => {
  let dir: string;
  let engine: LevelEngine;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-raft-node-'));
    engine = await LevelEngine.open(join(dir, 'db'));
  });
  afterEach(async () => {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('hands each committed entry to the state machine once when a read-state handler proposes and reads again', async () => {
    const storage = new MemoryStorage();
    const raw = new RawNode({
      id: 1n, electionTicks: 10, heartbeatTicks: 1, storage, applied: 0, maxSizePerMsg: 1024 * 1024, maxInflightMsgs: 512,
      checkQuorum: false, preVote: false, confState: { voters: [1n], learners: [] }, rand: new SeededRand(1), logger: silentLogger,
    });
    const transport: PeerTransport = {
      send: () => {}, forwardLease: () => Promise.reject(new Error('alone')), attach: () => {},
      learnerReady: () => Promise.resolve(false), setPeer: () => {}, removePeer: () => {}, close: () => Promise.resolve(),
    };
    const applied: number[] = [];
    let appliedIndex = 0;
    const node = new RaftNode({
      raw, storage, logStore: new LogStore(engine), transport, snapshotCount: 100_000, log: silentLogger,
      stateMachine: {
        apply: async (entries: Entry[]) => {
          for (const e of entries) applied.push(e.index);
          appliedIndex = entries[entries.length - 1]!.index;
        },
        dump: () => Promise.resolve(Buffer.alloc(0)),
        install: () => Promise.resolve(),
        appliedIndex: () => appliedIndex,
      },
      onLeaderChange: () => {}, onLeaseForward: () => Promise.reject(new Error('alone')),
      clusterInfo: () => ({ clusterId: 1n, members: [] }), isRemoved: () => false, onRemoved: () => {},
      observe: { fsync: () => {}, apply: () => {} },
    });
    raw.campaign();
    node.kick();
    await eventually('the node leads', () => raw.raft.state === 'leader' && appliedIndex >= 1);
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
    await eventually('every round is answered and applied', () => answered >= rounds && appliedIndex >= 1 + rounds - 1);
    await node.stop();
    assert.deepEqual(applied, Array.from({ length: applied.length }, (_, i) => i + 1), `entries applied out of order: ${applied.join(',')}`);
  });
});
