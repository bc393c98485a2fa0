import { Engine } from '../storage/engine';
import { metaKey } from '../storage/keyspace';
import { idToHex as hex } from '../util/bytes';
import { Logger } from '../util/logger';
import { ConfigError } from './errors';
import { clusterIdOf, Member, memberIdOf, parseInitialCluster } from './membership';

/** The flags that decide a member's identity (etcd's names, camel-cased). */
export interface ClusterFlags {
  name: string;
  initialCluster: string;
  initialClusterToken: string;
  initialClusterState: 'new' | 'existing';
  initialAdvertisePeerUrls: string[];
  advertiseClientUrls: string[];
}

export interface Identity {
  clusterId: bigint;
  memberId: bigint;
  members: Member[];
}

interface StoredMember {
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

/**
 * Finds who this member is: from the data dir if it has been started before (the initial-cluster
 * flags are then ignored, as in etcd), else from the flags, and records the answer durably.
 */
export async function bootstrapIdentity(engine: Engine, flags: ClusterFlags, log: Logger): Promise<Identity> {
  const stored = await engine.get(metaKey('members'));
  if (stored !== undefined) {
    const identity = loadIdentity(stored, await engine.get(metaKey('cluster-id')), await engine.get(metaKey('member-id')));
    const self = identity.members.find((m) => m.id === identity.memberId);
    if (self === undefined) throw new ConfigError('data dir does not list its own member; it is damaged');
    if (self.name !== flags.name) {
      throw new ConfigError(`data dir belongs to member "${self.name}", not "${flags.name}" (--name)`);
    }
    self.clientURLs = flags.advertiseClientUrls;
    await saveIdentity(engine, identity);
    log.info('restarting member from data dir', { 'cluster-id': hex(identity.clusterId), 'local-member-id': hex(identity.memberId) });
    return identity;
  }
  if (flags.initialClusterState !== 'new') {
    throw new ConfigError('--initial-cluster-state=existing: joining a running cluster is not supported yet');
  }
  const initial = parseInitialCluster(flags.initialCluster);
  const ownPeerUrls = initial.get(flags.name);
  if (ownPeerUrls === undefined) {
    throw new ConfigError(`couldn't find local name "${flags.name}" in the initial cluster configuration`);
  }
  if ([...ownPeerUrls].sort().join(',') !== [...flags.initialAdvertisePeerUrls].sort().join(',')) {
    throw new ConfigError(`--initial-cluster has ${flags.name}=${ownPeerUrls.join(',')} but missing from ` +
      `--initial-advertise-peer-urls=${flags.initialAdvertisePeerUrls.join(',')}`);
  }
  const members: Member[] = [...initial].map(([name, peerURLs]) => ({
    id: memberIdOf(peerURLs, flags.initialClusterToken),
    name,
    peerURLs,
    clientURLs: name === flags.name ? flags.advertiseClientUrls : [],
    isLearner: false,
  }));
  const identity: Identity = {
    clusterId: clusterIdOf(members.map((m) => m.id)),
    memberId: members.find((m) => m.name === flags.name)!.id,
    members,
  };
  await saveIdentity(engine, identity);
  log.info('starting a new cluster', {
    'cluster-id': hex(identity.clusterId), 'local-member-id': hex(identity.memberId), members: members.length,
  });
  return identity;
}

function loadIdentity(members: Buffer, clusterId: Buffer | undefined, memberId: Buffer | undefined): Identity {
  if (clusterId === undefined || memberId === undefined) throw new ConfigError('data dir is missing its cluster or member ID');
  const list = JSON.parse(members.toString('utf8')) as StoredMember[];
  return {
    clusterId: clusterId.readBigUInt64BE(0),
    memberId: memberId.readBigUInt64BE(0),
    members: list.map((m) => ({ ...m, id: BigInt(`0x${m.id}`) })),
  };
}

async function saveIdentity(engine: Engine, identity: Identity): Promise<void> {
  const stored: StoredMember[] = identity.members.map((m) => ({ ...m, id: hex(m.id) }));
  await engine.write([
    { type: 'put', key: metaKey('cluster-id'), value: uint64(identity.clusterId) },
    { type: 'put', key: metaKey('member-id'), value: uint64(identity.memberId) },
    { type: 'put', key: metaKey('members'), value: Buffer.from(JSON.stringify(stored)) },
  ], { sync: true });
}

function uint64(v: bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(v);
  return out;
}
