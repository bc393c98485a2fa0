import { Engine } from '../storage/engine';
import { metaKey } from '../storage/keyspace';
import { idToHex as hex } from '../util/bytes';
import { Logger } from '../util/logger';
import { ConfigError } from './errors';
import { clusterIdOf, Member, memberIdOf, parseInitialCluster } from './membership';
import { MembershipState } from './membership-state';

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
  membership: MembershipState;
  /** A brand-new cluster: the caller writes the bootstrap entries to the log. */
  isNew: boolean;
}

/**
 * Finds who this member is: from the data dir if it has been started before (the initial-cluster
 * flags are then ignored, as in etcd), else from the flags, and records the answer durably.
 */
export async function bootstrapIdentity(engine: Engine, flags: ClusterFlags, log: Logger): Promise<Identity> {
  const stored = await engine.get(metaKey('members'));
  if (stored !== undefined) {
    const clusterId = await engine.get(metaKey('cluster-id'));
    const memberId = await engine.get(metaKey('member-id'));
    if (clusterId === undefined || memberId === undefined) throw new ConfigError('data dir is missing its cluster or member ID');
    const identity: Identity = {
      clusterId: clusterId.readBigUInt64BE(0),
      memberId: memberId.readBigUInt64BE(0),
      membership: MembershipState.decode(stored, await engine.get(metaKey('cluster-version'))),
      isNew: false,
    };
    const self = identity.membership.list().find((m) => m.id === identity.memberId);
    if (self === undefined) throw new ConfigError('data dir does not list its own member; it is damaged');
    if (self.name !== flags.name) {
      throw new ConfigError(`data dir belongs to member "${self.name}", not "${flags.name}" (--name)`);
    }
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
  // Client URLs are learned when each member publishes them through the log.
  const members: Member[] = [...initial].map(([name, peerURLs]) => ({
    id: memberIdOf(peerURLs, flags.initialClusterToken), name, peerURLs, clientURLs: [], isLearner: false,
  }));
  const identity: Identity = {
    clusterId: clusterIdOf(members.map((m) => m.id)),
    memberId: members.find((m) => m.name === flags.name)!.id,
    membership: new MembershipState(members, undefined),
    isNew: true,
  };
  await engine.write([
    { type: 'put', key: metaKey('cluster-id'), value: uint64(identity.clusterId) },
    { type: 'put', key: metaKey('member-id'), value: uint64(identity.memberId) },
    identity.membership.membersOp(),
  ], { sync: true });
  log.info('starting a new cluster', {
    'cluster-id': hex(identity.clusterId), 'local-member-id': hex(identity.memberId), members: members.length,
  });
  return identity;
}

function uint64(v: bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(v);
  return out;
}
