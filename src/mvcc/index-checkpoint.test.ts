import assert from 'node:assert/strict';
import { join } from 'node:path';
import { EngineOp } from '../storage/engine';
import { LevelEngine } from '../storage/level-engine';
import { tempEngineEachTest } from '../storage/testing/temp-engine';
import { metaKey, prefixRange, PREFIX_META } from '../storage/keyspace';
import { recordingLogger } from '../util/logger';
import { MvccStore } from './kv-store';
import { applyCompaction, applyWrite } from './testing/apply';
import { WriteTxn } from './write-txn';
import { encodeKeyValue } from './key-value';
import { revisionKey } from './revision';
import { KeySpan } from './tree-index';

const ALL: KeySpan = { start: '\x00', end: '' };

describe('the key index saved at a clean stop', () => {
  const temp = tempEngineEachTest('keel-checkpoint-');
  let engine: LevelEngine;
  let store: MvccStore;
  let log: ReturnType<typeof recordingLogger>;

  beforeEach(async () => {
    engine = temp.engine;
    log = recordingLogger();
    store = await MvccStore.open(engine, log);
  });

  const write = (body: (txn: WriteTxn) => unknown) => applyWrite(store, engine, body);
  const put = (key: string, value: string, lease = '0') => write((t) => t.put(Buffer.from(key), Buffer.from(value), lease));
  const compact = (rev: number) => applyCompaction(store, engine, rev);

  /** A history with several lives, multi-change revisions, leases, a key past one chunk and a compaction. */
  async function buildHistory(): Promise<void> {
    await put('a', '1');
    await put('b', '1', '7');
    await write((t) => {
      t.put(Buffer.from('a'), Buffer.from('2'), '0');
      t.put(Buffer.from('c'), Buffer.from('1'), '9223372036854775807');
    });
    await write((t) => t.deleteRange({ start: 'a', end: undefined }));
    await put('a', '3');
    await put('d', '1');
    await compact(5);
    await write((t) => t.deleteRange({ start: 'd', end: undefined }));
    await put('b', '2', '9');
    for (let i = 0; i < 300; i++) await put('many', String(i));
    await put(`big${'\xff'.repeat(9 << 20)}`, 'x');
  }

  async function restart(): Promise<void> {
    await store.idle();
    await engine.close();
    engine = temp.engine = await LevelEngine.open(join(temp.dir, 'db'));
    log = recordingLogger();
    store = await MvccStore.open(engine, log);
  }

  /** What the store answers at every revision it still has, and its leases as handed to the lessor. */
  async function everything(): Promise<unknown> {
    const reads = [];
    for (let rev = store.compactedRevision; rev <= store.currentRevision; rev++) {
      reads.push(await store.readView().range(ALL, { rev, limit: 0, countOnly: false }));
      // Versions and creations as the index holds them (the full read takes them from the records).
      reads.push(await store.readView().range(ALL, { rev, limit: 0, countOnly: false, indexOnly: true }));
    }
    return { rev: store.currentRevision, compacted: store.compactedRevision, reads, leased: store.takeLeasedKeys() };
  }

  function restoredFrom(): unknown {
    return log.fields[log.lines.indexOf('restored mvcc store')]?.from;
  }

  async function checkpointRecords(): Promise<number> {
    let n = 0;
    for await (const [k] of engine.entries(prefixRange(PREFIX_META))) if (k.subarray(0, metaKey('index-checkpoint').length).equals(metaKey('index-checkpoint'))) n++;
    return n;
  }

  it('starts from it with the same history, compaction and leases as a rebuild from the records, then deletes it', async () => {
    await buildHistory();
    await restart();
    const rebuilt = await everything() as { rev: number; leased: Map<string, string> };
    assert.match(String(restoredFrom()), /revision records/);
    assert.deepEqual(rebuilt.leased, new Map([['b', '9'], ['c', '9223372036854775807']]));

    await store.saveIndexCheckpoint(rebuilt.leased);
    assert.ok(await checkpointRecords() >= 3, 'a header and at least two chunks (one key is larger than a chunk)');
    await restart();
    assert.equal(restoredFrom(), 'the key index saved at the last clean stop');
    assert.deepEqual(await everything(), rebuilt);
    assert.equal(await checkpointRecords(), 0, 'deleted by the start that read it');

    await put('e', '1');
    await restart();
    assert.match(String(restoredFrom()), /revision records/, 'without a new save the next start rebuilds');
    assert.equal(store.currentRevision, rebuilt.rev + 1);
  });

  it('rebuilds instead when the records are not the ones it was saved from', async () => {
    await put('a', '1');
    await store.saveIndexCheckpoint(new Map());
    // A record it never saw, as if a write had landed without deleting it.
    await store.idle();
    const b = { key: Buffer.from('b'), create_revision: 3, mod_revision: 3, version: 1, value: Buffer.from('1'), lease: '0' };
    await engine.write([{ type: 'put', key: revisionKey({ main: 3, sub: 0 }, false), value: encodeKeyValue(b) }], { sync: false });
    await restart();
    assert.match(String(restoredFrom()), /2 revision records/);
    assert.deepEqual((await store.readView().range(ALL, { rev: 0, limit: 0, countOnly: false })).kvs.map((kv) => kv.key.toString()), ['a', 'b']);
    assert.equal(await checkpointRecords(), 0);
  });

  it('is not saved with writes not yet in the engine, nor while a physical compaction is unfinished', async () => {
    await put('a', '1');
    const pending: EngineOp[] = [];
    const txn = store.beginWrite(pending);
    txn.put(Buffer.from('a'), Buffer.from('2'), '0');
    txn.end();
    await store.saveIndexCheckpoint(new Map());
    assert.equal(await checkpointRecords(), 0, 'a write applied in memory only');
    await engine.write(pending, { sync: false });
    store.markFlushed();

    const batch: EngineOp[] = [];
    const physical = store.compact(3, batch);
    await engine.write(batch, { sync: false });
    // Scheduled and in the engine, but its records are deleted only once the store is told.
    await store.saveIndexCheckpoint(new Map());
    assert.equal(await checkpointRecords(), 0, 'a compaction not finished');
    store.markFlushed();
    await physical;
    await store.saveIndexCheckpoint(new Map());
    assert.ok(await checkpointRecords() > 0);
  });
});
