import * as grpc from '@grpc/grpc-js';
import type { Message, NodeId } from '../raft/types';
import type { Server as NetServer, Socket } from 'node:net';
import type { Server as TlsServer, TlsOptions } from 'node:tls';
import { NO_CHANNELZ } from '../util/grpc-options';
import { hostPort } from '../util/host-port';
import { listenOn } from '../util/listen';
import { Logger } from '../util/logger';
import { PEER_SERVICE, PeerClient, PeerClientConstructor } from './peer-service';
import type { SnapshotChunkWire } from './raft-wire';
import { ClusterInfo, LeaseForward, LeaseForwardReply, PeerTransport, TransportReceiver } from './transport';
import type { MembersResponse, MembersResponse__Output } from '../generated/keelpb/MembersResponse';
import type { LearnerReadyRequest__Output } from '../generated/keelpb/LearnerReadyRequest';
import type { LearnerReadyResponse } from '../generated/keelpb/LearnerReadyResponse';
import type { LeaseForwardRequest__Output } from '../generated/keelpb/LeaseForwardRequest';
import type { LeaseForwardResponse } from '../generated/keelpb/LeaseForwardResponse';

/** Messages waiting for one peer beyond which new ones are dropped: a dead peer costs bounded memory. */
const MAX_QUEUED_MESSAGES = 4096;
/** A snapshot's state goes out in pieces of this size. */
const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
/** Bounds of the wait before a lost peer stream is opened again, doubling while attempts fail. */
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 3000;
/** A question to the leader (lease, learner progress) answers quickly or not at all. */
const LEASE_FORWARD_TIMEOUT_MS = 2000;
/** gRPC metadata carrying the sender's cluster ID (hex). */
const CLUSTER_ID_HEADER = 'x-keel-cluster-id';
/** gRPC metadata carrying the sender's member ID (hex), so a removed member can be told so. */
const MEMBER_ID_HEADER = 'x-keel-member-id';
/** What a member hears when it talks to peers after it was removed (etcd answers HTTP 410 with it). */
const REMOVED_DETAILS = 'the member has been permanently removed from the cluster';
/** Peer traffic is between members only; Raft bounds message sizes itself. */
const UNLIMITED = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 };
/**
 * Channel options of a connection to a peer. grpc-js backs off its own reconnects from 1 s up to
 * 120 s, under our RECONNECT_*: a member that came back after a while went unheard for seconds
 * (1.1 s measured for a restarted member). etcd's peer links retry every 100 ms.
 */
const PEER_CHANNEL = { ...UNLIMITED, ...NO_CHANNELZ, 'grpc.initial_reconnect_backoff_ms': RECONNECT_MIN_MS, 'grpc.max_reconnect_backoff_ms': RECONNECT_MAX_MS };

/**
 * Raft messages over gRPC on --listen-peer-urls: one long-lived client stream per peer carrying
 * batches (everything queued for that peer goes out in one write), snapshots as chunked streams,
 * reconnection with exponential backoff. send() only queues.
 */
export class GrpcPeerTransport implements PeerTransport {
  private receiver: TransportReceiver | undefined;
  private readonly senders = new Map<NodeId, PeerSender>();
  /** Set by setPeers; streams from another cluster are refused, as etcd refuses them. */
  private clusterId = '';
  private self = '';

  /** The sockets peers connect to. */
  private readonly listeners: NetServer[] = [];
  /** The TLS ones, whose certificates can be swapped while they run (setSecureContext). */
  readonly tlsListeners: TlsServer[] = [];
  /** The ports bound, in the order of the addresses (port 0 asks the kernel for one). */
  readonly ports: number[] = [];

  private constructor(
    private readonly server: grpc.Server,
    /** How to dial peers (TLS with this member's peer certificate, or plain); asked at each new dial. */
    readonly dialCredentials: () => grpc.ChannelCredentials,
    private readonly log: Logger,
  ) {}

  static async listen(listen: PeerListen[], log: Logger, dialCredentials = grpc.credentials.createInsecure): Promise<GrpcPeerTransport> {
    const server = new grpc.Server(UNLIMITED);
    const t = new GrpcPeerTransport(server, dialCredentials, log);
    server.addService(PEER_SERVICE, {
      // Open to any caller: a joining member does not know the cluster ID yet.
      Members: (_call: grpc.ServerUnaryCall<object, MembersResponse>, cb: grpc.sendUnaryData<MembersResponse>) => {
        if (t.receiver === undefined) return cb({ code: grpc.status.UNAVAILABLE, details: 'member is starting' });
        const info = t.receiver.clusterInfo();
        cb(null, {
          cluster_id: info.clusterId.toString(),
          members: info.members.map((m) => ({
            id: m.id.toString(), name: m.name, peer_urls: m.peerURLs, client_urls: m.clientURLs, is_learner: m.isLearner,
          })),
        });
      },
      LearnerReady: (call: grpc.ServerUnaryCall<LearnerReadyRequest__Output, LearnerReadyResponse>, cb: grpc.sendUnaryData<LearnerReadyResponse>) => {
        if (!t.acceptFrom(call.metadata, cb)) return;
        if (t.receiver === undefined) return cb({ code: grpc.status.UNAVAILABLE, details: 'member is starting' });
        cb(null, { ready: t.receiver.learnerReady(BigInt(call.request.learner)) });
      },
      LeaseForward: (call: grpc.ServerUnaryCall<LeaseForwardRequest__Output, LeaseForwardResponse>, cb: grpc.sendUnaryData<LeaseForwardResponse>) => {
        if (t.receiver === undefined) return cb({ code: grpc.status.UNAVAILABLE, details: 'member is starting' });
        const r = call.request;
        t.receiver.leaseRequest({ renew: r.renew, id: BigInt(r.id), keys: r.keys }).then(
          (reply) => cb(null, { found: reply.found, ttl: reply.ttl, granted_ttl: reply.grantedTtl, keys: reply.keys }),
          (err: Error) => cb({ code: grpc.status.UNAVAILABLE, details: err.message }),
        );
      },
      Stream: (call: grpc.ServerReadableStream<Message[], object>, cb: grpc.sendUnaryData<object>) => {
        if (!t.acceptFrom(call.metadata, cb)) return;
        const sender = senderOf(call.metadata);
        let open = true;
        call.on('data', (messages: Message[]) => {
          // A stream opened before its sender was removed is cut when the next batch comes; the
          // cluster ID, checked at the start, cannot change within a stream.
          if (open && t.refuseRemoved(sender, cb)) open = false;
          if (open) for (const m of messages) t.receiver?.receive(m);
        });
        call.on('end', () => open && cb(null, {}));
        call.on('error', () => { /* the sender reconnects; nothing to clean up here */ });
      },
      Snapshot: (call: grpc.ServerReadableStream<SnapshotChunkWire, object>, cb: grpc.sendUnaryData<object>) => {
        if (!t.acceptFrom(call.metadata, cb)) return;
        const chunks: Uint8Array[] = [];
        let head: Message | undefined;
        let totalBytes = -1;
        call.on('data', (c: SnapshotChunkWire) => {
          if (c.message) {
            head = c.message;
            totalBytes = c.totalBytes ?? 0;
          }
          chunks.push(c.data);
        });
        call.on('end', () => {
          const data = Buffer.concat(chunks);
          // A stream can end early when its connection breaks; Raft must never see part of a state.
          if (head?.snapshot === undefined || data.length !== totalBytes) {
            log.warn('dropped an incomplete snapshot', { received: data.length, expected: totalBytes });
            cb({ code: grpc.status.DATA_LOSS, details: `snapshot cut short: ${data.length} of ${totalBytes} bytes` });
            return;
          }
          t.receiver?.receive({ ...head, snapshot: { ...head.snapshot, data } });
          cb(null, {});
        });
        call.on('error', () => { /* an incomplete snapshot is dropped; the leader sends another */ });
      },
    });
    // The sockets (and TLS) are ours, as on the client port; gRPC gets each connection as it comes.
    const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    for (const { hostPort: addr, tls } of listen) {
      const { server: listener, port } = await listenOn(addr, tls && { ...tls, ALPNProtocols: ['h2'] }, (socket) => injector.injectConnection(socket));
      t.listeners.push(listener);
      t.ports.push(port);
      if (tls === undefined) {
        log.info('listening for peers', { address: addr });
      } else {
        t.tlsListeners.push(listener as TlsServer);
        listener.on('tlsClientError', (err: Error, socket: Socket) => {
          log.warn('rejected peer connection', { 'remote-addr': socket.remoteAddress, error: err.message });
        });
        log.info('listening for peers securely', { address: addr, 'peer-client-cert-auth': tls.requestCert === true });
      }
    }
    return t;
  }

  /** Which cluster this member is in, and who the other members are. */
  setPeers(self: NodeId, clusterId: bigint, peers: Array<{ id: NodeId; peerURLs: string[] }>): void {
    this.self = self.toString(16);
    this.clusterId = clusterId.toString(16);
    for (const p of peers) this.setPeer(p.id, p.peerURLs);
  }

  setPeer(id: NodeId, peerURLs: string[]): void {
    const address = hostPort(peerURLs[0]!);
    const old = this.senders.get(id);
    if (old?.address === address) return;
    old?.close();
    this.senders.set(id, new PeerSender(id, address, this.clusterId, this.self, this, this.log));
  }

  removePeer(id: NodeId): void {
    this.senders.get(id)?.close();
    this.senders.delete(id);
  }

  /**
   * Refuses a peer of another cluster (a member started with the wrong flags or data dir), and
   * tells a removed member that it was removed.
   */
  acceptFrom(metadata: grpc.Metadata, cb: grpc.sendUnaryData<never>): boolean {
    if (this.refuseRemoved(senderOf(metadata), cb)) return false;
    const theirs = String(metadata.get(CLUSTER_ID_HEADER)[0] ?? '');
    if (theirs === this.clusterId) return true;
    this.log.warn('rejected stream from a peer of another cluster', { 'local-cluster-id': this.clusterId, 'remote-cluster-id': theirs });
    cb({ code: grpc.status.FAILED_PRECONDITION, details: `request cluster ID mismatch (got ${theirs} want ${this.clusterId})` });
    return false;
  }

  /** Answers a removed member with etcd's message; returns whether it did. */
  refuseRemoved(sender: NodeId | undefined, cb: grpc.sendUnaryData<never>): boolean {
    if (sender === undefined || !this.receiver?.isRemoved(sender)) return false;
    cb({ code: grpc.status.FAILED_PRECONDITION, details: REMOVED_DETAILS });
    return true;
  }

  attach(receiver: TransportReceiver): void {
    this.receiver = receiver;
  }

  forwardLease(to: NodeId, req: LeaseForward): Promise<LeaseForwardReply> {
    const sender = this.senders.get(to);
    if (sender === undefined) return Promise.reject(new Error(`unknown member ${to.toString(16)}`));
    return sender.forwardLease(req);
  }

  learnerReady(to: NodeId, learner: NodeId): Promise<boolean> {
    const sender = this.senders.get(to);
    if (sender === undefined) return Promise.reject(new Error(`unknown member ${to.toString(16)}`));
    return sender.learnerReady(learner);
  }

  send(msgs: Message[]): void {
    for (const m of msgs) {
      const sender = this.senders.get(m.to);
      if (sender === undefined) this.receiver?.unreachable(m.to);
      else if (m.type === 'MsgSnap') sender.sendSnapshot(m);
      else sender.enqueue(m);
    }
  }

  /** A peer said this member was removed from the cluster. */
  removed(): void {
    this.receiver?.removed();
  }

  unreachable(to: NodeId): void {
    this.receiver?.unreachable(to);
  }

  snapshotSent(to: NodeId, failed: boolean): void {
    this.receiver?.snapshotSent(to, failed);
  }

  async close(): Promise<void> {
    for (const s of this.senders.values()) s.close();
    // Peers keep their streams to us open for good, so waiting for them would never end; Raft
    // tolerates the messages this cuts off.
    for (const l of this.listeners) l.close();
    this.server.forceShutdown();
  }
}

/** Where to listen for peers: host:port, with TLS (https peer URLs) or without. */
export interface PeerListen {
  hostPort: string;
  tls?: TlsOptions;
}

/** The calling member's ID, from its metadata (absent from a joining member's first question). */
function senderOf(metadata: grpc.Metadata): NodeId | undefined {
  const hex = String(metadata.get(MEMBER_ID_HEADER)[0] ?? '');
  return hex === '' ? undefined : BigInt(`0x${hex}`);
}

/** Asks members at `peerURLs`, one after another, who is in their cluster. */
export async function fetchClusterInfo(peerURLs: string[], timeoutMs: number, credentials = grpc.credentials.createInsecure()): Promise<ClusterInfo> {
  const errors: string[] = [];
  for (const url of peerURLs) {
    const client = new PeerClientConstructor(hostPort(url), credentials, PEER_CHANNEL);
    try {
      const res = await new Promise<MembersResponse__Output>((resolve, reject) => {
        client.Members({}, { deadline: Date.now() + timeoutMs }, (err, r) => (err || !r ? reject(err ?? new Error('no answer')) : resolve(r)));
      });
      return {
        clusterId: BigInt(res.cluster_id),
        members: res.members.map((m) => ({
          id: BigInt(m.id), name: m.name, peerURLs: m.peer_urls, clientURLs: m.client_urls, isLearner: m.is_learner,
        })),
      };
    } catch (err) {
      errors.push(`${url}: ${(err as grpc.ServiceError).details ?? (err as Error).message}`);
    } finally {
      client.close();
    }
  }
  throw new Error(errors.join('; '));
}

/** The sending side toward one peer. */
class PeerSender {
  private readonly client: PeerClient;
  private stream: grpc.ClientWritableStream<Message[]> | undefined;
  private queue: Message[] = [];
  private flushScheduled = false;
  private waitingForDrain = false;
  private reconnectAt = 0;
  private backoffMs = RECONNECT_MIN_MS;
  private closed = false;

  private readonly metadata = new grpc.Metadata();

  constructor(
    private readonly id: NodeId,
    readonly address: string,
    clusterId: string,
    self: string,
    private readonly transport: GrpcPeerTransport,
    private readonly log: Logger,
  ) {
    this.client = new PeerClientConstructor(address, transport.dialCredentials(), PEER_CHANNEL);
    this.metadata.set(CLUSTER_ID_HEADER, clusterId);
    this.metadata.set(MEMBER_ID_HEADER, self);
  }

  enqueue(m: Message): void {
    if (this.queue.length >= MAX_QUEUED_MESSAGES) {
      this.transport.unreachable(this.id);
      return;
    }
    this.queue.push(m);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  forwardLease(req: LeaseForward): Promise<LeaseForwardReply> {
    return new Promise((resolve, reject) => {
      this.client.LeaseForward({ renew: req.renew, id: req.id.toString(), keys: req.keys }, this.metadata,
        { deadline: Date.now() + LEASE_FORWARD_TIMEOUT_MS }, (err, res) => {
          if (err || !res) return reject(err ?? new Error('no answer'));
          resolve({ found: res.found, ttl: Number(res.ttl), grantedTtl: Number(res.granted_ttl), keys: res.keys });
        });
    });
  }

  learnerReady(learner: NodeId): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.client.LearnerReady({ learner: learner.toString() }, this.metadata,
        { deadline: Date.now() + LEASE_FORWARD_TIMEOUT_MS }, (err, res) => (err || !res ? reject(err ?? new Error('no answer')) : resolve(res.ready)));
    });
  }

  sendSnapshot(m: Message): void {
    const call = this.client.Snapshot(this.metadata, (err) => this.transport.snapshotSent(this.id, err !== null));
    // Sent in views of the dump, not a copy of it (hundreds of MB for a million keys).
    const data = m.snapshot!.data;
    call.write({ message: m, data: new Uint8Array(), totalBytes: data.length } satisfies SnapshotChunkWire);
    for (let at = 0; at < data.length; at += SNAPSHOT_CHUNK_BYTES) {
      call.write({ data: data.subarray(at, at + SNAPSHOT_CHUNK_BYTES) } satisfies SnapshotChunkWire);
    }
    call.end();
  }

  close(): void {
    this.closed = true;
    this.stream?.end();
    this.client.close();
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed || this.waitingForDrain || this.queue.length === 0) return;
    const stream = this.stream ?? this.connect();
    if (stream === undefined) {
      // Still backing off: what is queued is lost, as it would be on a dead link.
      this.queue = [];
      this.transport.unreachable(this.id);
      return;
    }
    const batch = this.queue.splice(0);
    if (!stream.write(batch)) {
      this.waitingForDrain = true;
      stream.once('drain', () => {
        this.waitingForDrain = false;
        this.flush();
      });
    }
  }

  private connect(): grpc.ClientWritableStream<Message[]> | undefined {
    if (Date.now() < this.reconnectAt) return undefined;
    const openedAt = Date.now();
    const stream = this.client.Stream(this.metadata, (err) => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.waitingForDrain = false;
      if (this.closed) return;
      // A stream that lived a while was a working link: start backing off from the bottom again.
      const healthy = Date.now() - openedAt > RECONNECT_MAX_MS;
      if (err?.details === REMOVED_DETAILS) {
        this.transport.removed();
      } else if (err?.code === grpc.status.FAILED_PRECONDITION) {
        this.log.error('a peer refused this member', { peer: this.id.toString(16), address: this.address, error: err.details });
      }
      if (healthy) {
        this.backoffMs = RECONNECT_MIN_MS;
        this.log.warn('lost the stream to a peer', { peer: this.id.toString(16), address: this.address, error: err?.details });
      } else {
        this.backoffMs = Math.min(this.backoffMs * 2, RECONNECT_MAX_MS);
      }
      this.reconnectAt = Date.now() + this.backoffMs;
      this.transport.unreachable(this.id);
    });
    this.stream = stream;
    return stream;
  }
}
