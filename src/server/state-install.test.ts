import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeKeyValue } from '../mvcc/key-value';
import { MvccStore } from '../mvcc/kv-store';
import { parseRevisionKey, revisionKey } from '../mvcc/revision';
import { EngineOp } from '../storage/engine';
import { decodeNumber, encodeNumber, leaseKey, metaKey, prefixRange, PREFIX_REVISION } from '../storage/keyspace';
import { LevelEngine } from '../storage/level-engine';
import { silentLogger } from '../util/logger';
import { prepareWhole, StatePreparation } from './state-install';
import { dumpState } from './state-snapshot';

describe('installing a state snapshot (what a lagging follower gets)', function () {
  this.timeout(60_000);
  let dir: string;
  let from: LevelEngine;
  let to: LevelEngine;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-state-'));
    from = await LevelEngine.open(join(dir, 'from'));
    to = await LevelEngine.open(join(dir, 'to'));
  });

  afterEach(async () => {
    await from.close();
    await to.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function revisionRecords(engine: LevelEngine): Promise<Array<[string, string]>> {
    const out: Array<[string, string]> = [];
    for await (const chunk of engine.entryChunks(prefixRange(PREFIX_REVISION))) {
      for (const [k, v] of chunk) out.push([k.toString('hex'), v.toString()]);
    }
    return out;
  }

  /** 200,000 revision records of 1,000 keys and a lease in `from`; in `to` a record and a lease of its own and one of each of those; the dump of `from`. */
  async function states(): Promise<Buffer> {
    const records: EngineOp[] = Array.from({ length: 200_000 }, (_, i) => ({
      type: 'put',
      key: revisionKey({ main: 2 + i, sub: 0 }, false),
      value: encodeKeyValue({ key: Buffer.from(`k${i % 1000}`), create_revision: 2 + i, mod_revision: 2 + i, version: 1, value: Buffer.from(`v${i}`), lease: '0' }),
    }));
    await from.write([...records, { type: 'put', key: leaseKey(5n), value: Buffer.alloc(8) }], { sync: false });
    // `to` also holds a lease the state has (as a lagging member does) and one it does not.
    await to.write([
      { type: 'put', key: revisionKey({ main: 1_000_000, sub: 0 }, false), value: Buffer.from('stale') },
      records[7] as EngineOp,
      { type: 'put', key: leaseKey(5n), value: Buffer.alloc(8) },
      { type: 'put', key: leaseKey(9n), value: Buffer.alloc(8) },
    ], { sync: false });
    const snapshot = await from.snapshot();
    const dump = await dumpState(snapshot);
    await snapshot.close();
    return dump;
  }

  async function assertInstalled(index: { records: number; rev: number; index: { size: number } }): Promise<void> {
    assert.deepEqual(await revisionRecords(to), await revisionRecords(from), 'the old state replaced, records of both kept');
    assert.equal(index.records, 200_000, 'every revision record indexed, and nothing else');
    assert.equal(index.rev, 200_001);
    assert.equal(index.index.size, 1000);
    assert.equal(decodeNumber(await to.get(metaKey('applied-index'))), 42);
    assert.equal((await to.get(metaKey('snapshot')))?.toString(), '{}');
    assert.ok(await to.get(leaseKey(5n)), 'a lease of the state kept, though the old state had it too');
    assert.equal(await to.get(leaseKey(9n)), undefined, 'a lease only the old state had deleted');
  }

  const mark: EngineOp = { type: 'put', key: metaKey('snapshot'), value: Buffer.from('{}') };

  // A member holding a million keys crashed installing one: the records went to the batch as the
  // arguments of one push, and 130,000 arguments already overflow the stack.
  it('installs a state of 200,000 records given whole in place of the old one, with the applied index and the caller\'s ops', async () => {
    const dump = await states();
    await assertInstalled(await (await prepareWhole(to, dump)).write(to, 42, [mark]));
  });

  it('installs what was prepared from pieces as they came, records cut anywhere by their ends', async () => {
    const dump = await states();
    const prepared = new StatePreparation(to);
    // Pieces of 7,777 bytes end anywhere in a record, the first past the header.
    for (let at = 0; at < dump.length; at += 7777) await prepared.add(dump.subarray(at, at + 7777));
    assert.equal(prepared.unfit(), undefined);
    assert.equal(prepared.bytes, dump.length);
    await assertInstalled(await prepared.write(to, 42, [mark]));
    assert.equal(prepared.unfit(), 'written', 'the preparation used');
  });

  it('refuses to write a preparation that did not get the whole state, and writes nothing of it', async () => {
    const dump = await states();
    const before = await revisionRecords(to);
    const prepared = new StatePreparation(to);
    await prepared.add(dump.subarray(0, dump.length - 3)); // inside the last record
    assert.match(prepared.unfit()!, /state dump cut short at byte \d+/);
    await assert.rejects(prepared.write(to, 42, [mark]), /state dump cut short at byte \d+/);
    assert.equal(prepared.unfit(), 'dropped');
    assert.deepEqual(await revisionRecords(to), before);
  });

  it('refuses a dump cut short, and writes nothing of it', async () => {
    const dump = await states();
    const before = await revisionRecords(to);
    await assert.rejects(prepareWhole(to, dump.subarray(0, dump.length - 1)), /state dump cut short at byte \d+/);
    await assert.rejects(prepareWhole(to, dump.subarray(0, 5)), /state dump is shorter than its header/);
    assert.deepEqual(await revisionRecords(to), before);
  });

  // The receiver had marked the compaction finished whatever the dump held, so the records a
  // compaction still under way on the sender had not yet deleted stayed, and the members' hashes differed.
  it('leaves a compaction the dump was taken in the middle of to be finished by the receiver', async () => {
    const put = (key: string, rev: number): EngineOp => ({
      type: 'put',
      key: revisionKey({ main: rev, sub: 0 }, false),
      value: encodeKeyValue({ key: Buffer.from(key), create_revision: 2, mod_revision: rev, version: rev - 1, value: Buffer.from(`v${rev}`), lease: '0' }),
    });
    // Compacted at 4 and not yet deleting: k's revisions 2 and 3 are still there.
    await from.write([put('k', 2), put('k', 3), put('k', 4), put('j', 5), { type: 'put', key: metaKey('compact-scheduled'), value: encodeNumber(4) }], { sync: false });
    const snapshot = await from.snapshot();
    const dump = await dumpState(snapshot);
    await snapshot.close();
    await (await prepareWhole(to, dump)).write(to, 42, [mark]);
    assert.equal(decodeNumber(await to.get(metaKey('compact-scheduled'))), 4);
    assert.equal(decodeNumber(await to.get(metaKey('compact-finished'))), 0, 'the compaction left unfinished, as the dump had it');

    const store = await MvccStore.open(to, silentLogger);
    await store.idle();
    const revisions = (await revisionRecords(to)).map(([k]) => parseRevisionKey(Buffer.from(k, 'hex')).rev.main);
    assert.deepEqual(revisions, [4, 5], 'what the compaction removes, removed once the store loaded');
    assert.equal(decodeNumber(await to.get(metaKey('compact-finished'))), 4);
  });
});
