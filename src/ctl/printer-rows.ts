import type { MemberListResponse__Output } from '../generated/etcdserverpb/MemberListResponse';
import { hexId, humanizeBytes } from './go-format';
import type { EpHashKV, EpHealth, EpStatus } from './printer';

/** Header and rows shared by the simple (comma-separated) and table layouts, as etcdctl builds them. */
export interface Rows {
  header: string[];
  rows: string[][];
}

export function memberListRows(r: MemberListResponse__Output): Rows {
  return {
    header: ['ID', 'Status', 'Name', 'Peer Addrs', 'Client Addrs', 'Is Learner'],
    rows: r.members.map((m) => [
      hexId(m.ID),
      m.name === '' ? 'unstarted' : 'started',
      m.name,
      m.peerURLs.join(','),
      m.clientURLs.join(','),
      String(m.isLearner),
    ]),
  };
}

export function endpointHealthRows(list: EpHealth[]): Rows {
  return { header: ['endpoint', 'health', 'took', 'error'], rows: list.map((h) => [h.ep, String(h.health), h.took, h.error]) };
}

export function endpointStatusRows(list: EpStatus[]): Rows {
  return {
    header: ['endpoint', 'ID', 'version', 'db size', 'is leader', 'is learner', 'raft term', 'raft index', 'raft applied index', 'errors'],
    rows: list.map(({ ep, resp }) => {
      const memberId = resp.header?.member_id ?? '0';
      return [
        ep,
        hexId(memberId),
        resp.version,
        humanizeBytes(Number(resp.dbSize)),
        String(resp.leader === memberId),
        String(resp.isLearner),
        resp.raftTerm,
        resp.raftIndex,
        resp.raftAppliedIndex,
        resp.errors.join(', '),
      ];
    }),
  };
}

export function endpointHashKVRows(list: EpHashKV[]): Rows {
  return { header: ['endpoint', 'hash'], rows: list.map(({ ep, resp }) => [ep, String(resp.hash)]) };
}
