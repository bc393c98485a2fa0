import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { LevelEngine } from './level-engine';
import { tempEngineEachTest } from './testing/temp-engine';

const ALL = { gte: Buffer.from([0x00]), lt: Buffer.from([0xff]) };

describe('LevelEngine', () => {
  const t = tempEngineEachTest('keel-level-');

  // LevelDB deletes table and log files when a compaction or memtable flush ends; a size read that
  // lists the directory just before must not fail the request it serves (the quota check on a put).
  it('reads the size while compactions delete files under it', async function () {
    this.timeout(60_000);
    const value = Buffer.alloc(4096, 1);
    let reads = 0;
    let failure: unknown;
    const reader = (async () => {
      try {
        while (reads < 500) {
          assert.ok((await t.engine.sizeOnDisk()) > 0);
          assert.ok((await t.engine.sizeInUse()) >= 0);
          reads++;
        }
      } catch (err) {
        failure = err;
      }
    })();
    // Overwriting the same keys keeps each compaction small, so many of them run under the reads.
    for (let round = 0; reads < 500 && failure === undefined; round++) {
      const ops = Array.from({ length: 200 }, (_, i) => ({ type: 'put' as const, key: Buffer.from(`k${i}`), value }));
      await t.engine.write(ops, { sync: false });
      await t.engine.compactRange(ALL);
    }
    await reader;
    if (failure !== undefined) throw failure;
  });

  it('applies a batch of puts and deletes and reads it back after a reopen', async () => {
    await t.engine.write([
      { type: 'put', key: Buffer.from('a'), value: Buffer.from('1') },
      { type: 'put', key: Buffer.from('b'), value: Buffer.from('2') },
    ], { sync: true });
    await t.engine.write([{ type: 'del', key: Buffer.from('a') }, { type: 'put', key: Buffer.from('c'), value: Buffer.alloc(0) }], { sync: true });
    await t.engine.close();
    t.engine = await LevelEngine.open(join(t.dir, 'db'));
    const seen: string[] = [];
    for await (const [k, v] of t.engine.entries(ALL)) seen.push(`${k}=${v}`);
    assert.deepEqual(seen, ['b=2', 'c=']);
  });

  it('scans in chunks, in order, more entries than one chunk holds, and stops early without leaking the read in flight', async () => {
    const ops = Array.from({ length: 2500 }, (_, i) => ({ type: 'put' as const, key: Buffer.from(String(i).padStart(5, '0')), value: Buffer.alloc(700, i % 256) }));
    await t.engine.write(ops, { sync: false });
    let count = 0;
    let chunks = 0;
    let last = '';
    for await (const chunk of t.engine.entryChunks(ALL)) {
      chunks++;
      for (const [k] of chunk) {
        assert.ok(k.toString() > last, `${k} after ${last}`);
        last = k.toString();
        count++;
      }
    }
    assert.equal(count, 2500);
    assert.ok(chunks >= 3, `${chunks} chunks`);
    for await (const chunk of t.engine.entryChunks(ALL)) {
      assert.ok(chunk.length > 0);
      break; // the next chunk is being read now; closing must wait for it, not fail
    }
  });

  it('writes a batch larger than one slice completely, deletes included', async () => {
    const key = (i: number) => Buffer.from(`k${String(i).padStart(6, '0')}`);
    await t.engine.write([{ type: 'put', key: key(0), value: Buffer.from('old') }], { sync: true });
    const ops = Array.from({ length: 25_000 }, (_, i) => ({ type: 'put' as const, key: key(i + 1), value: Buffer.from(String(i)) }));
    await t.engine.write([{ type: 'del', key: key(0) }, ...ops], { sync: true });
    let count = 0;
    for await (const chunk of t.engine.entryChunks(ALL)) count += chunk.length;
    assert.equal(count, 25_000);
    assert.equal(await t.engine.get(key(0)), undefined);
    assert.equal((await t.engine.get(key(25_000)))?.toString(), '24999');
  });

  it('writes a batch prepared beforehand after the writes asked for before it and before those asked for after', async () => {
    const key = (i: number) => Buffer.from(`k${String(i).padStart(6, '0')}`);
    const batch = t.engine.largeBatch();
    for (let i = 0; i < 25_000; i++) batch.put(key(i), Buffer.from('prepared'));
    const before = t.engine.write([{ type: 'put', key: key(0), value: Buffer.from('before') }, { type: 'put', key: key(30_000), value: Buffer.from('before') }], { sync: false });
    const prepared = batch.write([{ type: 'del', key: key(30_000) }, { type: 'put', key: key(1), value: Buffer.from('more') }], { sync: true });
    const after = t.engine.write([{ type: 'put', key: key(2), value: Buffer.from('after') }], { sync: false });
    await Promise.all([before, prepared, after]);
    assert.equal((await t.engine.get(key(0)))?.toString(), 'prepared');
    assert.equal((await t.engine.get(key(1)))?.toString(), 'more');
    assert.equal((await t.engine.get(key(2)))?.toString(), 'after');
    assert.equal((await t.engine.get(key(24_999)))?.toString(), 'prepared');
    assert.equal(await t.engine.get(key(30_000)), undefined);
    assert.throws(() => batch.put(key(3), Buffer.from('late')), /already written or discarded/);
  });

  it('writes nothing of a prepared batch given up', async () => {
    const batch = t.engine.largeBatch();
    for (let i = 0; i < 1000; i++) batch.put(Buffer.from(`f${i}`), Buffer.from('x'));
    batch.discard();
    assert.throws(() => batch.write([], { sync: true }), /already written or discarded/);
    await t.engine.write([{ type: 'put', key: Buffer.from('other'), value: Buffer.from('y') }], { sync: true });
    let count = 0;
    for await (const chunk of t.engine.entryChunks(ALL)) count += chunk.length;
    assert.equal(count, 1);
  });

  // The Raft log's saves and the applier's batches both write the hard state without waiting for
  // each other; the later one must be the one on disk.
  it('lands writes issued without waiting in the order they were issued, synced or not', async () => {
    const key = Buffer.from('hard-state');
    const writes = Array.from({ length: 300 }, (_, i) => t.engine.write(
      [{ type: 'put', key, value: Buffer.from(String(i)) }, { type: 'put', key: Buffer.from(`w${i}`), value: Buffer.from('x') }],
      { sync: i % 3 === 0 },
    ));
    await Promise.all(writes);
    assert.equal((await t.engine.get(key))?.toString(), '299');
    let count = 0;
    for await (const chunk of t.engine.entryChunks(ALL)) count += chunk.length;
    assert.equal(count, 301);
  });

  // A member answers once a request is applied in memory, before its batch lands; Maintenance's
  // Snapshot and Hash taken after the answer must still hold it.
  it('takes a snapshot that holds every write asked for before it, landed or not', async () => {
    const first = t.engine.write([{ type: 'put', key: Buffer.from('a'), value: Buffer.from('1') }], { sync: true });
    // Asked while the first is in flight, so it is still waiting when the snapshot is asked for.
    const second = t.engine.write([{ type: 'put', key: Buffer.from('b'), value: Buffer.from('2') }], { sync: false });
    const snapshot = await t.engine.snapshot();
    await t.engine.write([{ type: 'put', key: Buffer.from('c'), value: Buffer.from('3') }], { sync: false });
    try {
      assert.equal((await snapshot.get(Buffer.from('a')))?.toString(), '1');
      assert.equal((await snapshot.get(Buffer.from('b')))?.toString(), '2');
      assert.equal(await snapshot.get(Buffer.from('c')), undefined, 'a write after the snapshot is not in it');
    } finally {
      await snapshot.close();
    }
    await Promise.all([first, second]);
  });

  // The group just written stayed in flight until a later turn; a snapshot asked for as the write's
  // caller resumed waited on it for good (a dump right after a write never began).
  it('takes a snapshot asked for the moment a write resolves', async () => {
    await t.engine.write([{ type: 'put', key: Buffer.from('a'), value: Buffer.from('1') }], { sync: false });
    const snapshot = await t.engine.snapshot();
    try {
      assert.equal((await snapshot.get(Buffer.from('a')))?.toString(), '1');
    } finally {
      await snapshot.close();
    }
  });

  it('refuses a write once closed instead of reaching the native store', async () => {
    await t.engine.close();
    await assert.rejects(t.engine.write([{ type: 'put', key: Buffer.from('a'), value: Buffer.from('1') }], { sync: true }), /is not open/);
  });
});
