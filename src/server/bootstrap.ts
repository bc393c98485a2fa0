import { Engine } from '../storage/engine';
import { metaKey } from '../storage/keyspace';
import { idToHex as hex } from '../util/bytes';
import { Logger } from '../util/logger';
import { ConfigError } from './errors';
import { clusterIdOf, Member, memberIdOf, parseInitialCluster, sameUrls } from './membership';
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
  /** Every member whose peer URLs are known, this one included: whom the transport can reach. */
  peers: Member[];
  /** A brand-new cluster: the caller writes the bootstrap entries to the log. */
  isNew: boolean;
}

/** Asks the members at these peer URLs for the cluster's ID and members (a joining member's first step). */
export type DiscoverCluster = (peerURLs: string[]) => Promise<{ clusterId: bigint; members: Member[] }>;

/**
 * Finds who this member is: from the data dir if it has been started before (the initial-cluster
 * flags are then ignored, as in etcd), else from the flags, and records the answer durably.
 */
export async function bootstrapIdentity(engine: Engine, flags: ClusterFlags, log: Logger, discover: DiscoverCluster): Promise<Identity> {
  const stored = await MembershipState.load(engine);
  if (stored !== undefined) return restartIdentity(engine, stored, flags, log);
  const initial = parseInitialCluster(flags.initialCluster);
  const ownPeerUrls = initial.get(flags.name);
  if (ownPeerUrls === undefined) {
    throw new ConfigError(`couldn't find local name "${flags.name}" in the initial cluster configuration`);
  }
  if (!sameUrls(ownPeerUrls, flags.initialAdvertisePeerUrls)) {
    throw new ConfigError(`--initial-cluster has ${flags.name}=${ownPeerUrls.join(',')} but missing from ` +
      `--initial-advertise-peer-urls=${flags.initialAdvertisePeerUrls.join(',')}`);
  }
  if (flags.initialClusterState === 'existing') return joinIdentity(engine, initial, flags, log, discover);
  // Client URLs are learned when each member publishes them through the log.
  const members: Member[] = [...initial].map(([name, peerURLs]) => ({
    id: memberIdOf(peerURLs, flags.initialClusterToken), name, peerURLs, clientURLs: [], isLearner: false,
  }));
  const identity: Identity = {
    clusterId: clusterIdOf(members.map((m) => m.id)),
    memberId: members.find((m) => m.name === flags.name)!.id,
    membership: new MembershipState(members, undefined),
    peers: members,
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

async function restartIdentity(engine: Engine, membership: MembershipState, flags: ClusterFlags, log: Logger): Promise<Identity> {
  const clusterId = await engine.get(metaKey('cluster-id'));
  const memberId = await engine.get(metaKey('member-id'));
  if (clusterId === undefined || memberId === undefined) throw new ConfigError('data dir is missing its cluster or member ID');
  const id = memberId.readBigUInt64BE(0);
  if (membership.isRemoved(id)) throw new ConfigError('the member has been permanently removed from the cluster');
  const self = membership.member(id);
  // A joining member that has not yet applied its own addition is not listed yet.
  if (self !== undefined && self.name !== '' && self.name !== flags.name) {
    throw new ConfigError(`data dir belongs to member "${self.name}", not "${flags.name}" (--name)`);
  }
  const joinPeers = await engine.get(metaKey('join-peers'));
  const known = membership.list();
  const hinted = joinPeers === undefined ? [] : decodeMembers(joinPeers)
    .filter((m) => membership.member(m.id) === undefined && !membership.isRemoved(m.id));
  log.info('restarting member from data dir', { 'cluster-id': hex(clusterId.readBigUInt64BE(0)), 'local-member-id': hex(id) });
  return { clusterId: clusterId.readBigUInt64BE(0), memberId: id, membership, peers: [...known, ...hinted], isNew: false };
}

/**
 * Joins a running cluster (--initial-cluster-state existing), as etcd does: ask the other
 * members for the cluster, check that --initial-cluster names the same members, and take the
 * member ID the cluster gave this member's peer URLs when it was added. The membership starts
 * empty: the log (or a snapshot) from the leader fills it in.
 */
async function joinIdentity(
  engine: Engine, initial: Map<string, string[]>, flags: ClusterFlags, log: Logger, discover: DiscoverCluster,
): Promise<Identity> {
  const own = [...flags.initialAdvertisePeerUrls].sort().join(',');
  const others = [...initial].flatMap(([, urls]) => ([...urls].sort().join(',') === own ? [] : urls));
  if (others.length === 0) throw new ConfigError('--initial-cluster-state=existing needs the other members in --initial-cluster');
  const cluster = await discover(others).catch((err: Error) => {
    throw new ConfigError(`cannot fetch cluster info from peer urls: ${err.message}`);
  });
  if (cluster.members.length !== initial.size) {
    throw new ConfigError(`error validating peerURLs: member count is unequal (--initial-cluster has ${initial.size}, the cluster ${cluster.members.length})`);
  }
  for (const [name, urls] of initial) {
    if (!cluster.members.some((m) => sameUrls(m.peerURLs, urls))) {
      throw new ConfigError(`error validating peerURLs: unmatched member while checking PeerURLs ("${name}=${urls.join(',')}")`);
    }
  }
  const self = cluster.members.find((m) => sameUrls(m.peerURLs, flags.initialAdvertisePeerUrls))!;
  const membership = new MembershipState([], undefined);
  await engine.write([
    { type: 'put', key: metaKey('cluster-id'), value: uint64(cluster.clusterId) },
    { type: 'put', key: metaKey('member-id'), value: uint64(self.id) },
    { type: 'put', key: metaKey('join-peers'), value: encodeMembers(cluster.members) },
    membership.membersOp(),
  ], { sync: true });
  log.info('joining an existing cluster', { 'cluster-id': hex(cluster.clusterId), 'local-member-id': hex(self.id), members: cluster.members.length });
  return { clusterId: cluster.clusterId, memberId: self.id, membership, peers: cluster.members, isNew: false };
}

function encodeMembers(members: Member[]): Buffer {
  return Buffer.from(JSON.stringify(members.map((m) => ({ ...m, id: m.id.toString(16) }))));
}

function decodeMembers(data: Buffer): Member[] {
  return (JSON.parse(data.toString('utf8')) as Array<Member & { id: string }>).map((m) => ({ ...m, id: BigInt(`0x${m.id}`) }));
}

function uint64(v: bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(v);
  return out;
}
