import { access, readFile, rename, rm } from 'node:fs/promises';
import { LevelEngine } from '../storage/level-engine';
import { LogStore } from '../storage/log-store';
import { walDirOf } from '../storage/wal';
import { metaKey, PREFIX_LEASE, PREFIX_REVISION } from '../storage/keyspace';
import { Logger } from '../util/logger';
import { bootstrapIdentity } from './bootstrap';
import { ConfigError } from './errors';
import { writeBootstrapEntries } from './keel-server';
import { readSnapshotFile } from './snapshot-file';
import { parseDump, stateOps } from './state-snapshot';

/** etcdutl snapshot restore's inputs, with its flag names camel-cased. */
export interface RestoreOptions {
  snapshotPath: string;
  dataDir: string;
  name: string;
  initialCluster: string;
  initialClusterToken: string;
  initialAdvertisePeerUrls: string[];
  skipHashCheck: boolean;
}

/**
 * etcdutl snapshot restore: a data dir from which a NEW cluster starts with the snapshot's keys,
 * revisions, compaction, leases, users and roles. Identity comes from the flags, as for any new member: the
 * old membership and alarms (which name old member IDs) are left behind. Built in a temporary
 * directory, every write synced, and renamed into place only when complete.
 */
export async function restoreSnapshot(o: RestoreOptions, log: Logger): Promise<void> {
  if (await exists(o.dataDir)) throw new ConfigError(`data-dir "${o.dataDir}" exists`);
  const { compaction, records } = parseDump(readSnapshotFile(await readFile(o.snapshotPath), o.skipHashCheck));
  const kept = records.filter(([k]) => k[0] === PREFIX_LEASE || k[0] === PREFIX_REVISION || k.equals(metaKey('auth')));
  const building = `${o.dataDir}.restoring`;
  await rm(building, { recursive: true, force: true });
  const engine = await LevelEngine.open(building);
  try {
    // Applied index 0: the new cluster's bootstrap entries are the first to apply.
    await engine.write(stateOps(compaction, kept, 0), { sync: true });
    const identity = await bootstrapIdentity(engine, {
      name: o.name, initialCluster: o.initialCluster, initialClusterToken: o.initialClusterToken,
      initialClusterState: 'new', initialAdvertisePeerUrls: o.initialAdvertisePeerUrls, advertiseClientUrls: [],
    }, log, async () => {
      throw new Error('a restored data dir starts a new cluster; it never asks a running one');
    });
    const logStore = await LogStore.open(engine, walDirOf(building), log);
    try {
      await writeBootstrapEntries(logStore, identity.membership.list());
    } finally {
      await logStore.close();
    }
  } finally {
    await engine.close();
  }
  await rename(building, o.dataDir);
  log.info('restored snapshot', { path: o.snapshotPath, 'data-dir': o.dataDir, records: kept.length, 'compact-revision': compaction.scheduled ?? 0 });
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}
