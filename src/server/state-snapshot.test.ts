import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeKeyValue } from '../mvcc/key-value';
import { IndexBuilder } from '../mvcc/index-builder';
import { revisionKey } from '../mvcc/revision';
import { EngineOp } from '../storage/engine';
import { decodeNumber, leaseKey, metaKey, prefixRange, PREFIX_REVISION } from '../storage/keyspace';
import { LevelEngine } from '../storage/level-engine';
import { dumpState, loadState } from './state-snapshot';

describe('state snapshots (what a lagging follower installs)', function () {
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

  // A member holding a million keys crashed installing one: the records went to the batch as the
  // arguments of one push, and 130,000 arguments already overflow the stack.
  it('installs a state of 200,000 records in place of the old one, with the applied index and the caller\'s ops, indexing the records', async () => {
    const records: EngineOp[] = Array.from({ length: 200_000 }, (_, i) => ({
      type: 'put',
      key: revisionKey({ main: 2 + i, sub: 0 }, false),
      value: encodeKeyValue({ key: Buffer.from(`k${i % 1000}`), create_revision: 2 + i, mod_revision: 2 + i, version: 1, value: Buffer.from(`v${i}`), lease: '0' }),
    }));
    await from.write([...records, { type: 'put', key: leaseKey(5n), value: Buffer.alloc(8) }], { sync: false });
    await to.write([{ type: 'put', key: revisionKey({ main: 1_000_000, sub: 0 }, false), value: Buffer.from('stale') }], { sync: false });

    const snapshot = await from.snapshot();
    const dump = await dumpState(snapshot);
    await snapshot.close();
    const index = new IndexBuilder();
    await loadState(to, dump, 42, [{ type: 'put', key: metaKey('snapshot'), value: Buffer.from('{}') }], index);

    assert.deepEqual(await revisionRecords(to), await revisionRecords(from));
    assert.equal(index.records, 200_000, 'every revision record indexed, and nothing else');
    assert.equal(index.rev, 200_001);
    assert.equal(index.index.size, 1000);
    assert.equal(decodeNumber(await to.get(metaKey('applied-index'))), 42);
    assert.equal((await to.get(metaKey('snapshot')))?.toString(), '{}');
    assert.ok(await to.get(leaseKey(5n)));
  });
});
