import { Histogram } from 'prom-client';
import { Engine } from '../storage/engine';
import { Logger } from '../util/logger';
import { secondsSince } from './metrics';

/** Every key the engine holds (all prefixes are single bytes below 0xff). */
const WHOLE_KEYSPACE = { gte: Buffer.from([0x00]), lt: Buffer.from([0xff]) };

/**
 * etcd's Defragment on LevelDB: a manual compaction of the whole key range, which rewrites the
 * tables without deleted and overwritten data and gives the space back. LevelDB compacts on a
 * background thread while reads and writes go on, so the member keeps serving meanwhile.
 * Concurrent requests share the run in progress.
 */
export class Defragmenter {
  private running: Promise<void> | undefined;

  constructor(private readonly engine: Engine, private readonly seconds: Histogram, private readonly log: Logger) {}

  defragment(): Promise<void> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async run(): Promise<void> {
    const started = process.hrtime.bigint();
    const before = await this.engine.sizeOnDisk();
    this.log.info('defragmenting', { 'db-size': before });
    await this.engine.compactRange(WHOLE_KEYSPACE);
    const took = secondsSince(started);
    this.seconds.observe(took);
    this.log.info('finished defragmenting', { 'db-size-before': before, 'db-size-after': await this.engine.sizeOnDisk(), took: `${took}s` });
  }
}
