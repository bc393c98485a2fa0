import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelEngine } from './level-engine';

const ALL = { gte: Buffer.from([0x00]), lt: Buffer.from([0xff]) };

describe('LevelEngine sizes', () => {
  let dir: string;
  let engine: LevelEngine;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-level-'));
    engine = await LevelEngine.open(join(dir, 'db'));
  });

  afterEach(async () => {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  });

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
          assert.ok((await engine.sizeOnDisk()) > 0);
          assert.ok((await engine.sizeInUse()) >= 0);
          reads++;
        }
      } catch (err) {
        failure = err;
      }
    })();
    // Overwriting the same keys keeps each compaction small, so many of them run under the reads.
    for (let round = 0; reads < 500 && failure === undefined; round++) {
      const ops = Array.from({ length: 200 }, (_, i) => ({ type: 'put' as const, key: Buffer.from(`k${i}`), value }));
      await engine.write(ops, { sync: false });
      await engine.compactRange(ALL);
    }
    await reader;
    if (failure !== undefined) throw failure;
  });
});
