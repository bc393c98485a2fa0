import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../util/logger';
import { LoadedLog, LogEntry, LogStore, StoredSnapshotMeta } from './log-store';
import { tempEngineEachTest } from './testing/temp-engine';

describe('LogStore', () => {
  const t = tempEngineEachTest('keel-log-store-');

  const entry = (index: number, term: number, text = `e${index}`): LogEntry => ({ index, term, type: 'normal', data: Buffer.from(text) });
  /** Segments of 4 KiB: seven entries of 500 bytes fill one. */
  const SEGMENT = 4096;
  const walDir = () => join(t.dir, 'wal');
  const open = () => LogStore.open(t.engine, walDir(), silentLogger, SEGMENT);
  const big = (index: number, term: number) => entry(index, term, `e${index}`.padEnd(500, '.'));
  const segments = () => readdirSync(walDir()).filter((n) => n.endsWith('.wal')).sort();
  const snapshotAt = (index: number, term: number): StoredSnapshotMeta => ({ index, term, voters: [1n], learners: [] });
  const summary = (log: LoadedLog) => log.entries.map((e) => `${e.index}/${e.term}:${Buffer.from(e.data).toString()}`);

  /** What the next start reads back. */
  async function reopened(): Promise<LoadedLog> {
    const store = await open();
    try {
      return store.load();
    } finally {
      await store.close();
    }
  }

  it('reads back entries and the newest hard state, a rewritten index replacing the tail from it', async () => {
    const store = await open();
    store.load();
    await store.save([entry(1, 1), entry(2, 1), entry(3, 1), entry(4, 1)], { term: 1, vote: 1n, commit: 2 }, 'here');
    // A new leader's entries from index 3 replace 3 and 4, as Raft replaced them.
    await store.save([entry(3, 2, 'again')], { term: 2, vote: 2n, commit: 2 }, 'here');
    await store.save([], { term: 2, vote: 2n, commit: 3 }, 'none');
    await store.close();
    const log = await reopened();
    assert.deepEqual(summary(log), ['1/1:e1', '2/1:e2', '3/2:again']);
    assert.deepEqual(log.hardState, { term: 2, vote: 2n, commit: 3 });
    assert.equal(log.snapshot, undefined);
  });

  it('keeps a hard state that only moved the commit in memory until the next write, or a clean close', async () => {
    const store = await open();
    store.load();
    await store.save([entry(1, 1), entry(2, 1)], { term: 1, vote: 1n, commit: 0 }, 'here');
    await store.save([], { term: 1, vote: 1n, commit: 2 }, 'none');
    // What a crash now would leave: the commit of the last write.
    assert.deepEqual((await reopened()).hardState, { term: 1, vote: 1n, commit: 0 });
    await store.save([entry(3, 1)], undefined, 'in-background');
    assert.deepEqual((await reopened()).hardState, { term: 1, vote: 1n, commit: 2 }, 'the next write carries it');
    await store.save([], { term: 1, vote: 1n, commit: 3 }, 'none');
    await store.close();
    assert.deepEqual((await reopened()).hardState, { term: 1, vote: 1n, commit: 3 }, 'close writes it');
    assert.deepEqual(summary(await reopened()), ['1/1:e1', '2/1:e2', '3/1:e3']);
  });

  it('resumes after the snapshot mark, and after a reset only with what followed it', async () => {
    const store = await open();
    store.load();
    await store.save([entry(1, 1), entry(2, 1), entry(3, 1)], { term: 1, vote: 1n, commit: 1 }, 'here');
    // A snapshot from the leader at 10 (term 3) replaced the state and, in the same batch, the mark.
    await t.engine.write([store.snapshotMetaOp(snapshotAt(10, 3))], { sync: true });
    store.reset(snapshotAt(10, 3));
    await store.save([entry(11, 3), entry(12, 3)], { term: 3, vote: 2n, commit: 12 }, 'here');
    await store.close();
    const log = await reopened();
    assert.equal(log.snapshot?.index, 10);
    assert.deepEqual(summary(log), ['11/3:e11', '12/3:e12']);
  });

  it('drops what followed a snapshot mark of another term, left by a crash between an install and its reset', async () => {
    const store = await open();
    store.load();
    // This member's log had 5 and 6 from term 2; the leader's snapshot at 5 is of term 3.
    await store.save([entry(4, 2), entry(5, 2), entry(6, 2)], { term: 2, vote: 1n, commit: 4 }, 'here');
    await t.engine.write([store.snapshotMetaOp(snapshotAt(5, 3))], { sync: true });
    await store.close();
    const log = await reopened();
    assert.equal(log.snapshot?.index, 5);
    assert.deepEqual(log.entries, [], 'entry 6 belongs to the log the snapshot replaced');
  });

  it('keeps what follows a snapshot mark of its own log', async () => {
    const store = await open();
    store.load();
    await store.save([entry(1, 1), entry(2, 1), entry(3, 1)], { term: 1, vote: 1n, commit: 3 }, 'here');
    await store.saveSnapshotMeta(snapshotAt(2, 1), 2);
    await store.close();
    assert.deepEqual(summary(await reopened()), ['3/1:e3']);
  });

  it('reads a rewrite that starts below the segment it landed in, once the segment before is gone', async () => {
    const store = await open();
    store.load();
    await store.save([1, 2, 3, 4, 5, 6].map((i) => big(i, 1)), { term: 1, vote: 1n, commit: 4 }, 'here');
    // 7 and 8 do not fit: they cut a segment named 7. A new leader then replaces the log from 5.
    await store.save([big(7, 1), big(8, 1)], undefined, 'here');
    assert.equal(segments().length, 2);
    await store.save([5, 6, 7, 8, 9, 10].map((i) => entry(i, 2)), { term: 2, vote: 2n, commit: 10 }, 'here');
    await store.saveSnapshotMeta(snapshotAt(8, 2), 5);
    await store.close();
    const log = await reopened();
    assert.equal(segments().length, 1, 'the segment holding only entries below the snapshot was deleted');
    assert.deepEqual(summary(log), ['9/2:e9', '10/2:e10']);
    assert.deepEqual(log.hardState, { term: 2, vote: 2n, commit: 10 });
  });

  it('begins a cut segment with the hard state already written, not the one of the write that cut it', async () => {
    const store = await open();
    store.load();
    await store.save([1, 2, 3, 4, 5, 6].map((i) => big(i, 1)), { term: 1, vote: 1n, commit: 4 }, 'here');
    await store.save([big(7, 1), big(8, 1)], { term: 1, vote: 1n, commit: 8 }, 'here');
    await store.close();
    // A crash after the cut segment's head was written and before the entries that followed it.
    const path = join(walDir(), segments()[1]!);
    const bytes = readFileSync(path);
    const headEnd = 8 + bytes.readUInt32LE(0);
    bytes.fill(0, headEnd);
    writeFileSync(path, bytes);
    const log = await reopened();
    assert.deepEqual(summary(log).map((s) => s.split(':')[0]), ['1/1', '2/1', '3/1', '4/1', '5/1', '6/1']);
    assert.deepEqual(log.hardState, { term: 1, vote: 1n, commit: 4 }, 'no commit beyond the entries the log holds');
  });
});
