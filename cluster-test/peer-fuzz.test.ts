import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as protobuf from 'protobufjs';
import { callRaw, fuzzedBody, requestTypeName } from '../src/api/testing/fuzz-bodies';
import { EtcdClient } from '../src/client/etcd-client';
import { PROTO_DIR } from '../src/util/paths';
import { SeededRand } from '../src/util/rand';
import type { Message } from '../src/raft/types';
import { frame, opening, RAFT_PREFACE } from '../src/transport/raft-stream';
import { encodeMessageBatch } from '../src/transport/raft-wire';
import { SNAPSHOT_PREFACE } from '../src/transport/snapshot-stream';
import { peerPackage } from '../src/wire/peer-package';
import { startCluster, type ClusterProcesses, type MemberProcess } from './support/member-process';

const SEED = 20261124;
const PER_METHOD = 60;
const GARBAGE_CONNECTIONS = 200;
/** How much a member's resident memory may grow over the whole run: bounded, not proportional to the input. */
const MAX_RSS_GROWTH_BYTES = 128 * 1024 * 1024;

const rssBytes = (m: MemberProcess) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${m.process.pid}/status`, 'utf8'))![1]) * 1024;

/** Writes `bytes` to host:port on a fresh connection and resolves once the connection is over. */
function sendRaw(hostPort: string, bytes: Buffer): Promise<void> {
  const [host, port] = hostPort.split(':') as [string, string];
  return new Promise((resolve) => {
    const s = connect(Number(port), host, () => s.end(bytes));
    s.setTimeout(3000, () => s.destroy());
    s.on('data', () => undefined);
    s.on('error', () => resolve());
    s.on('close', () => resolve());
  });
}

/** The HTTP/2 client preface, then `frames`: what a gRPC peer sends first, followed by damage. */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/**
 * The peer port under hostile input, on a three-member cluster of real processes: raw TCP garbage,
 * broken HTTP/2, broken Raft streams, and every Peer method with random and damaged messages, from a sender that does not
 * name the cluster (an outsider) or names the wrong one. No member may crash, the data must stay as
 * it was on every member, and memory must stay bounded. (A sender that knows the cluster ID is a
 * member: peers are trusted, as in etcd; --peer-client-cert-auth is what keeps others out.)
 */
describe('hostile input on the peer port', function () {
  this.timeout(180_000);
  let dir: string;
  let cluster: ClusterProcesses;
  let revision: string;
  let hashes: number[];
  let rssBefore: number;

  const hashesAt = async (rev: string) => Promise.all(cluster.endpoints.map(async (e) => {
    const c = new EtcdClient(e);
    try {
      return (await c.hashKV(Number(rev))).hash;
    } finally {
      c.close();
    }
  }));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-peer-fuzz-'));
    cluster = await startCluster('keel', dir, 3);
    const c = new EtcdClient(cluster.endpoints[0]!);
    try {
      for (let i = 0; i < 20; i++) await c.put({ key: Buffer.from(`sentinel-${i}`), value: Buffer.from(`v${i}`) });
      revision = (await c.range({ key: Buffer.from('sentinel-0') })).header!.revision;
    } finally {
      c.close();
    }
    hashes = await hashesAt(revision);
    rssBefore = rssBytes(cluster.members[0]!);
  });
  after(async () => {
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(`survives ${GARBAGE_CONNECTIONS} connections of random bytes, broken HTTP/2, broken Raft streams and broken snapshot streams`, async () => {
    const rand = new SeededRand(SEED);
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => rand.intn(256)));
    const target = cluster.members[0]!.peerEndpoint;
    for (let i = 0; i < GARBAGE_CONNECTIONS; i++) {
      switch (i % 9) {
        case 0: await sendRaw(target, bytes(rand.intn(4096))); break;
        case 1: await sendRaw(target, Buffer.concat([H2_PREFACE, bytes(rand.intn(512))])); break;
        // A frame header announcing 16 MiB of payload that never comes.
        case 2: await sendRaw(target, Buffer.concat([H2_PREFACE, Buffer.from([0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01])])); break;
        case 3: await sendRaw(target, Buffer.from(`POST /keelpb.Peer/Snapshot HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n${bytes(64).toString('latin1')}`)); break;
        // Raft streams (raft-stream.ts): garbage after the preface, a hello announcing 4 GiB, and a
        // hello from another cluster followed by frames of garbage.
        case 4: await sendRaw(target, Buffer.concat([RAFT_PREFACE, bytes(rand.intn(4096))])); break;
        case 5: await sendRaw(target, Buffer.concat([RAFT_PREFACE, Buffer.from([0xff, 0xff, 0xff, 0xff])])); break;
        // Snapshot streams (snapshot-stream.ts): garbage after the preface, and a hello from
        // another cluster followed by garbage.
        case 6: await sendRaw(target, Buffer.concat([SNAPSHOT_PREFACE, bytes(rand.intn(4096))])); break;
        case 7: await sendRaw(target, Buffer.concat([opening(BigInt(rand.intn(2 ** 31)), BigInt(rand.intn(2 ** 31)), SNAPSHOT_PREFACE), bytes(rand.intn(4096))])); break;
        default: await sendRaw(target, Buffer.concat([opening(BigInt(rand.intn(2 ** 31)), BigInt(rand.intn(2 ** 31))), bytes(rand.intn(4096))]));
      }
    }
    for (const m of cluster.members) assert.equal(m.process.exitCode, null, `${m.name} is running`);
  });

  it('survives every Peer method fuzzed by an outsider, with no cluster ID or a wrong one', async () => {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
    root.loadSync('keelpb/raft.proto', { keepCase: true });
    root.resolveAll();
    const rand = new SeededRand(SEED + 1);
    const client = new grpc.Client(cluster.members[0]!.peerEndpoint, grpc.credentials.createInsecure());
    let calls = 0;
    try {
      for (const method of Object.values(peerPackage.Peer.service)) {
        const type = root.lookupType(`keelpb.${requestTypeName(method)}`);
        for (let i = 0; i < PER_METHOD; i++) {
          const md = new grpc.Metadata();
          if (i % 2 === 1) md.set('x-keel-cluster-id', rand.intn(2 ** 31).toString(16));
          await callRaw(client, method, fuzzedBody(type, rand), md);
          calls++;
        }
      }
    } finally {
      client.close();
    }
    assert.equal(calls, Object.keys(peerPackage.Peer.service).length * PER_METHOD);
    console.log(`      ${calls} inputs to ${Object.keys(peerPackage.Peer.service).length} Peer methods, plus ${GARBAGE_CONNECTIONS} garbage connections`);
  });

  it('drops Raft messages of the types a node makes only for itself, even from a sender naming the cluster', async () => {
    const c = new EtcdClient(cluster.endpoints[0]!);
    try {
      const { header } = await c.status();
      const [clusterId, to] = [BigInt(header!.cluster_id!), BigInt(header!.member_id!)];
      const local: Array<Message['type']> = ['MsgHup', 'MsgBeat', 'MsgUnreachable', 'MsgSnapStatus', 'MsgCheckQuorum'];
      const messages = local.map((type): Message => ({
        type, to, from: 0x77n, term: 0, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0,
      }));
      await sendRaw(cluster.members[0]!.peerEndpoint, Buffer.concat([opening(clusterId, 0x77n), frame(encodeMessageBatch(messages))]));
      await c.put({ key: Buffer.from('after-local'), value: Buffer.from('1') }); // the member took them and still serves
    } finally {
      c.close();
    }
  });

  it('leaves every member serving, the data as it was, and memory bounded', async () => {
    for (const m of cluster.members) assert.equal(m.process.exitCode, null, `${m.name} is running`);
    const c = new EtcdClient(cluster.endpoints[2]!);
    try {
      await c.put({ key: Buffer.from('after'), value: Buffer.from('1') }); // the cluster still commits
      const r = await c.range({ key: Buffer.from('sentinel-'), range_end: Buffer.from('sentinel.') });
      assert.equal(r.kvs.length, 20);
    } finally {
      c.close();
    }
    assert.deepEqual(await hashesAt(revision), hashes);
    const growth = rssBytes(cluster.members[0]!) - rssBefore;
    console.log(`      member RSS grew by ${(growth / 1048576).toFixed(1)} MiB over the run`);
    assert.ok(growth < MAX_RSS_GROWTH_BYTES, `RSS grew by ${growth} bytes`);
  });
});
