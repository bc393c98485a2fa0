import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineOp } from '../storage/engine';
import { LevelEngine } from '../storage/level-engine';
import { prefixRange, PREFIX_REVISION } from '../storage/keyspace';
import { silentLogger } from '../util/logger';
import { CompactedError, FutureRevisionError } from './errors';
import { MvccStore } from './kv-store';
import { KeySpan } from './tree-index';

const ALL: KeySpan = { start: '\x00', end: '' };
const one = (key: string): KeySpan => ({ start: key, end: undefined });
const at = (rev: number) => ({ rev, limit: 0, countOnly: false });

describe('MvccStore', () => {
  let dir: string;
  let engine: LevelEngine;
  let store: MvccStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-mvcc-'));
    engine = await LevelEngine.open(dir);
    store = await MvccStore.open(engine, silentLogger);
  });

  afterEach(async () => {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** One write request: runs `body` in a write txn and writes its batch, as the applier does. */
  async function write(body: (txn: ReturnType<MvccStore['beginWrite']>) => unknown) {
    const batch: EngineOp[] = [];
    const txn = store.beginWrite(batch);
    await body(txn);
    const rev = txn.end();
    await engine.write(batch, { sync: false });
    store.markFlushed();
    return rev;
  }

  const put = (key: string, value: string) => write((t) => t.put(Buffer.from(key), Buffer.from(value), '0'));

  async function reopen(): Promise<void> {
    await store.idle();
    await engine.close();
    engine = await LevelEngine.open(dir);
    store = await MvccStore.open(engine, silentLogger);
  }

  it('gives every write request one revision and tracks create, mod and version', async () => {
    assert.equal(await put('a', '1'), 1);
    assert.equal(await put('a', '2'), 2);
    assert.equal(await write((t) => {
      t.put(Buffer.from('b'), Buffer.from('x'), '7');
      t.put(Buffer.from('c'), Buffer.from('y'), '0');
    }), 3);
    const { kvs, rev, count } = await store.readView().range(ALL, at(0));
    assert.equal(rev, 3);
    assert.equal(count, 3);
    assert.deepEqual(kvs.map((kv) => [kv.key.toString(), kv.value.toString(), kv.create_revision, kv.mod_revision, kv.version, kv.lease]), [
      ['a', '2', 1, 2, 2, '0'], ['b', 'x', 3, 3, 1, '7'], ['c', 'y', 3, 3, 1, '0'],
    ]);
  });

  it('reads history at any revision and answers with the current one', async () => {
    await put('a', '1');
    await put('a', '2');
    await write((t) => t.deleteRange(one('a')));
    await put('a', '3');
    const cases: Array<[number, string | undefined]> = [[1, '1'], [2, '2'], [3, undefined], [4, '3']];
    for (const [rev, want] of cases) {
      const r = await store.readView().range(one('a'), at(rev));
      assert.equal(r.kvs[0]?.value.toString(), want, `at ${rev}`);
      assert.equal(r.rev, 4);
    }
    assert.equal((await store.readView().range(one('a'), at(4))).kvs[0]?.version, 1, 'a new life restarts the version');
    await assert.rejects(store.readView().range(one('a'), at(5)), FutureRevisionError);
  });

  it('does not bump the revision for a delete that deletes nothing', async () => {
    await put('a', '1');
    assert.equal(await write((t) => assert.equal(t.deleteRange(one('zz')), 0)), 1);
    assert.equal(store.currentRevision, 1);
  });

  it('lets a write txn read its own writes while other readers see none of them', async () => {
    await put('a', '1');
    const outside = store.readView();
    await write(async (t) => {
      t.put(Buffer.from('a'), Buffer.from('2'), '0');
      t.put(Buffer.from('b'), Buffer.from('new'), '0');
      const inside = await t.range(ALL, at(0));
      assert.deepEqual(inside.kvs.map((kv) => kv.value.toString()), ['2', 'new']);
      assert.equal(inside.rev, 2);
      const concurrent = await store.readView().range(ALL, at(0));
      assert.deepEqual(concurrent.kvs.map((kv) => kv.value.toString()), ['1'], 'no half-done txn is visible');
    });
    assert.deepEqual((await outside.range(ALL, at(0))).kvs.map((kv) => kv.value.toString()), ['1'], 'a view keeps its revision');
  });

  it('compacts: history below fails, the newest version at the compact revision stays', async () => {
    await put('a', '1'); // 1
    await put('a', '2'); // 2
    await put('b', '1'); // 3
    await write((t) => t.deleteRange(one('b'))); // 4
    await put('a', '3'); // 5
    const batch: EngineOp[] = [];
    const physical = store.compact(4, batch);
    await engine.write(batch, { sync: false });
    store.markFlushed();
    await physical;
    await assert.rejects(store.readView().range(ALL, at(3)), CompactedError);
    assert.deepEqual((await store.readView().range(ALL, at(4))).kvs.map((kv) => kv.value.toString()), ['2']);
    assert.throws(() => store.compact(4, []), CompactedError);
    assert.throws(() => store.compact(9, []), FutureRevisionError);
    // Left on disk: a@2 (newest at 4), the delete of b at 4 (a watch from 4 needs it), a@5.
    const left: string[] = [];
    for await (const key of engine.keys(prefixRange(PREFIX_REVISION))) left.push(key.readBigUInt64BE(1).toString());
    assert.deepEqual(left, ['2', '4', '5']);
  });

  it('restores index, revision and compaction from disk', async () => {
    await put('a', '1');
    await put('a', '2');
    await put('b', '1');
    const batch: EngineOp[] = [];
    const physical = store.compact(2, batch);
    await engine.write(batch, { sync: false });
    store.markFlushed();
    await physical;
    await put('a', '3');
    await reopen();
    assert.equal(store.currentRevision, 4);
    assert.equal(store.compactedRevision, 2);
    const kvs = (await store.readView().range(ALL, at(0))).kvs;
    assert.deepEqual(kvs.map((kv) => [kv.key.toString(), kv.create_revision, kv.version]), [['a', 1, 3], ['b', 3, 1]]);
    assert.equal(await put('a', '4'), 5);
    assert.equal((await store.readView().range(one('a'), at(0))).kvs[0]?.version, 4);
    await assert.rejects(store.readView().range(ALL, at(1)), CompactedError);
  });

  it('keeps the revision of a store whose every record was compacted away', async () => {
    await put('a', '1');
    await write((t) => t.deleteRange(one('a')));
    await put('z', '1');
    await write((t) => t.deleteRange(one('z')));
    const batch: EngineOp[] = [];
    const physical = store.compact(4, batch);
    await engine.write(batch, { sync: false });
    store.markFlushed();
    await physical;
    await reopen();
    assert.equal(store.currentRevision, 4);
    assert.equal(await put('b', '1'), 5);
  });
});
