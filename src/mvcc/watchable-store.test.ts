import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineOp } from '../storage/engine';
import { LevelEngine } from '../storage/level-engine';
import { eventually } from '../util/eventually';
import { silentLogger } from '../util/logger';
import { MvccStore } from './kv-store';
import { applyWrite } from './testing/apply';
import { KeySpan } from './tree-index';
import { WatchableStore, WatchEvent, WatchSink } from './watchable-store';
import { WriteTxn } from './write-txn';

/** A sink that records what it got; `open` false makes it refuse, as a backed-up stream does. */
class RecordingSink implements WatchSink {
  readonly got: string[] = [];
  readonly batches: number[] = [];
  open = true;
  compactedAt: number | undefined;

  deliver(events: WatchEvent[], rev: number): boolean {
    if (!this.open) return false;
    this.got.push(...events.map((e) => `${e.type} ${e.kv.key}@${e.kv.mod_revision}${e.type === 'PUT' ? `=${e.kv.value}` : ''}`));
    this.batches.push(rev);
    return true;
  }

  ready(): boolean {
    return this.open;
  }

  compacted(rev: number): void {
    this.compactedAt = rev;
  }
}

const ALL: KeySpan = { start: '\x00', end: '' };

describe('WatchableStore', () => {
  let dir: string;
  let engine: LevelEngine;
  let store: MvccStore;
  let watchable: WatchableStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-watch-'));
    engine = await LevelEngine.open(dir);
    store = await MvccStore.open(engine, silentLogger);
    watchable = new WatchableStore(store, engine);
  });
  afterEach(async () => {
    await watchable.close();
    await store.idle();
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  });

  const write = (body: (txn: WriteTxn) => unknown) => applyWrite(store, engine, body);
  const put = (k: string, v: string) => write((t) => t.put(Buffer.from(k), Buffer.from(v), '0'));
  const del = (k: string) => write((t) => t.deleteRange({ start: k, end: undefined }));

  it('delivers each write request\'s events to the watchers whose keys they touch', async () => {
    const one = new RecordingSink();
    const range = new RecordingSink();
    watchable.watch({ start: 'a', end: undefined }, 0, one);
    watchable.watch({ start: 'a', end: 'c' }, 0, range);
    await put('a', '1'); // 2
    await write((t) => { t.put(Buffer.from('b'), Buffer.from('2'), '0'); t.put(Buffer.from('z'), Buffer.from('3'), '0'); }); // 3
    await del('a'); // 4
    assert.deepEqual(one.got, ['PUT a@2=1', 'DELETE a@4']);
    assert.deepEqual(range.got, ['PUT a@2=1', 'PUT b@3=2', 'DELETE a@4']);
    assert.deepEqual(range.batches, [2, 3, 4], 'one delivery per revision');
  });

  it('replays history for a watcher from a past revision, then continues live without gaps or repeats', async () => {
    for (let i = 0; i < 5; i++) await put(`k${i}`, `${i}`); // revisions 2..6
    const sink = new RecordingSink();
    watchable.watch(ALL, 3, sink);
    await eventually('the watcher got its events', () => sink.got.length === 4);
    await put('k5', '5'); // 7
    await eventually('the watcher got its events', () => sink.got.length === 5);
    assert.deepEqual(sink.got, ['PUT k1@3=1', 'PUT k2@4=2', 'PUT k3@5=3', 'PUT k4@6=4', 'PUT k5@7=5']);
  });

  it('tells a watcher from a compacted revision that it was compacted', async () => {
    for (let i = 0; i < 4; i++) await put('k', `${i}`); // 2..5
    const batch: EngineOp[] = [];
    const physical = store.compact(4, batch);
    await engine.write(batch, { sync: false });
    store.markFlushed();
    await physical;
    const sink = new RecordingSink();
    watchable.watch(ALL, 3, sink);
    await eventually('the watcher was told of the compaction', () => sink.compactedAt !== undefined);
    assert.equal(sink.compactedAt, 4);
    assert.deepEqual(sink.got, []);
    const atCompaction = new RecordingSink();
    watchable.watch(ALL, 4, atCompaction);
    await eventually('the watcher got its events', () => atCompaction.got.length === 2);
    assert.deepEqual(atCompaction.got, ['PUT k@4=2', 'PUT k@5=3']);
  });

  it('lets a backed-up consumer fall behind without holding up others, then catches it up from history', async () => {
    const slow = new RecordingSink();
    const fast = new RecordingSink();
    watchable.watch(ALL, 0, slow);
    watchable.watch(ALL, 0, fast);
    await put('a', '1'); // 2
    slow.open = false;
    for (let i = 0; i < 50; i++) await put('b', `${i}`); // 3..52
    assert.equal(fast.got.length, 51);
    assert.equal(slow.got.length, 1);
    slow.open = true;
    await eventually('the watcher got its events', () => slow.got.length === 51);
    assert.deepEqual(slow.got, fast.got);
    await put('c', 'x');
    await eventually('the watcher got its events', () => slow.got.length === 52 && fast.got.length === 52);
  });

  it('stops delivering to a canceled watcher', async () => {
    const sink = new RecordingSink();
    const h = watchable.watch(ALL, 0, sink);
    await put('a', '1');
    h.cancel();
    await put('a', '2');
    assert.deepEqual(sink.got, ['PUT a@2=1']);
    assert.equal(watchable.watcherCount, 0);
  });

  // A member stopping with a watcher still catching up closed its engine under the read, and the
  // read's failure went unhandled: the member exited with an error instead of stopping.
  it('waits for a catch-up read in flight when closed, so the engine can close after it', async () => {
    // More revisions than one catch-up read takes (1,000), in one write each.
    const batch: EngineOp[] = [];
    for (let i = 0; i < 2500; i++) {
      const txn = store.beginWrite(batch);
      txn.put(Buffer.from(`k${i}`), Buffer.from('v'), '0');
      txn.end();
    }
    await engine.write(batch, { sync: false });
    store.markFlushed();
    let reading = 0;
    const entries = engine.entries.bind(engine);
    engine.entries = (range) => (async function* () {
      reading++;
      try {
        yield* entries(range);
      } finally {
        reading--;
      }
    })();
    const sink = new RecordingSink();
    watchable.watch(ALL, 1, sink);
    assert.equal(reading, 1, 'the catch-up is reading');
    await watchable.close();
    assert.equal(reading, 0, 'no read in flight once closed');
    assert.ok(sink.got.length < 2500, `the catch-up stopped at the close (${sink.got.length} events)`);
  });
});
