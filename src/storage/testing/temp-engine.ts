import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelEngine } from '../level-engine';

/** A test's own directory and the LevelEngine open in it (under `db`); a test may reopen the engine. */
export interface TempEngine {
  dir: string;
  engine: LevelEngine;
}

/**
 * Gives each test of the calling describe block a fresh engine in a directory of its own, closed
 * and removed after the test. Call it in the describe body: it registers the hooks.
 */
export function tempEngineEachTest(prefix: string): TempEngine {
  const current = {} as TempEngine;
  beforeEach(async () => {
    current.dir = await mkdtemp(join(tmpdir(), prefix));
    current.engine = await LevelEngine.open(join(current.dir, 'db'));
  });
  afterEach(async () => {
    await current.engine.close(); // closing a closed engine is allowed
    await rm(current.dir, { recursive: true, force: true });
  });
  return current;
}
