import * as grpc from '@grpc/grpc-js';
import type { Message, NodeId } from '../raft/types';
import type { Server as NetServer, Socket } from 'node:net';
import type { Server as TlsServer, TlsOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import { NO_CHANNELZ } from '../util/grpc-options';
import { hostPort } from '../util/host-port';
import { listenOn } from '../util/listen';
import { Logger } from '../util/logger';
import { LINK_TIMEOUT_MS, LinkLiveness } from './link-liveness';
import { dialPeer, type PeerDialTls } from './peer-dial';
import { peerPackage } from '../wire/peer-package';
import { decodeMessageBatch, encodeSenderPeerURL, senderPeerURLOf } from './raft-wire';
import {
  frame, framedBatches, FrameReader, HELLO_BYTES, MAX_ANSWER_BYTES, MAX_FRAME_BYTES, opening, parseHello, type PeerStreamKind, PING, RAFT_PREFACE,
  sniffPeerConnection,
} from './raft-stream';
import { receiveSnapshotStream, sendSnapshotStream, SNAPSHOT_IDLE_MS, SNAPSHOT_PREFACE } from './snapshot-stream';
import { ClusterInfo, LeaseForward, LeaseForwardReply, PeerTransport, TransportReceiver } from './transport';
import type { MembersResponse, MembersResponse__Output } from '../generated/keelpb/MembersResponse';
import type { PeerClient } from '../generated/keelpb/Peer';
import type { LearnerReadyRequest__Output } from '../generated/keelpb/LearnerReadyRequest';
import type { LearnerReadyResponse } from '../generated/keelpb/LearnerReadyResponse';
import type { ActiveVotersResponse, ActiveVotersResponse__Output } from '../generated/keelpb/ActiveVotersResponse';
import type { LeaseForwardRequest__Output } from '../generated/keelpb/LeaseForwardRequest';
import type { LeaseForwardResponse } from '../generated/keelpb/LeaseForwardResponse';
import type { LeaseForwardBatchRequest__Output } from '../generated/keelpb/LeaseForwardBatchRequest';
import type { LeaseForwardBatchResponse } from '../generated/keelpb/LeaseForwardBatchResponse';
import { answerBatch, fromRequest, LEASE_FORWARD_TIMEOUT_MS, LeaseForwarder, toResponse } from './lease-forwarding';

/** Messages waiting for one peer beyond which new ones are dropped: a dead peer costs bounded memory. */
const MAX_QUEUED_MESSAGES = 4096;
/**
 * Bounds of the wait before a lost peer stream is opened again, doubling while links open and fail.
 * A dial nobody answers is tried again after the least wait, as etcd's peer links every 100 ms.
 */
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 3000;
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

/** gRPC credentials that dial as `tls` says, or in plain text. */
function grpcCredentials(tls: PeerDialTls | undefined): grpc.ChannelCredentials {
  return tls === undefined ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(tls.ca ?? null, tls.key, tls.cert);
}

/**
 * Everything between members on --listen-peer-urls. Raft messages go over one long-lived framed
 * TCP connection per peer (raft-stream.ts), each write carrying every message queued for that peer;
 * each snapshot over a connection of its own (snapshot-stream.ts); questions to the leader go over
 * gRPC on the same port.
 * Connections are opened again with exponential backoff. send() only queues.
 */
export class PeerPortTransport implements PeerTransport {
  private receiver: TransportReceiver | undefined;
  private readonly senders = new Map<NodeId, PeerSender>();
  /** Set by setPeers; streams from another cluster are refused, as etcd refuses them. */
  private clusterId = 0n;
  private self = 0n;
  /** Where this member is reached (its first peer URL as its membership lists it), told to each peer as a stream to it opens. */
  advertisedPeerURL: string | undefined;
  /** Each peer's address as this member's membership lists it. */
  private readonly listed = new Map<NodeId, string>();
  /** Raft and snapshot connections peers opened to this member, closed with it. */
  private readonly peerConnections = new Set<Duplex>();

  /** The sockets peers connect to. */
  private readonly listeners: NetServer[] = [];
  /** The TLS ones, whose certificates can be swapped while they run (setSecureContext). */
  readonly tlsListeners: TlsServer[] = [];
  /** The ports bound, in the order of the addresses (port 0 asks the kernel for one). */
  readonly ports: number[] = [];

  private constructor(
    private readonly server: grpc.Server,
    /** How to dial peers (TLS with this member's peer certificate, or plain); asked at each new dial. */
    readonly dialTls: () => PeerDialTls | undefined,
    private readonly log: Logger,
    readonly timeouts: PeerTimeouts,
  ) {}

  static async listen(
    listen: PeerListen[], log: Logger, dialTls: () => PeerDialTls | undefined = () => undefined, timeouts = PEER_TIMEOUTS,
  ): Promise<PeerPortTransport> {
    const server = new grpc.Server(UNLIMITED);
    const t = new PeerPortTransport(server, dialTls, log, timeouts);
    server.addService(peerPackage.Peer.service, {
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
      ActiveVoters: (call: grpc.ServerUnaryCall<unknown, ActiveVotersResponse>, cb: grpc.sendUnaryData<ActiveVotersResponse>) => {
        if (!t.acceptFrom(call.metadata, cb)) return;
        const active = t.receiver?.activeVoters();
        if (active === undefined) return cb({ code: grpc.status.UNAVAILABLE, details: 'not the leader' });
        cb(null, { ids: [...active].map(String) });
      },
      LeaseForward: (call: grpc.ServerUnaryCall<LeaseForwardRequest__Output, LeaseForwardResponse>, cb: grpc.sendUnaryData<LeaseForwardResponse>) => {
        if (t.receiver === undefined) return cb({ code: grpc.status.UNAVAILABLE, details: 'member is starting' });
        t.receiver.leaseRequest(fromRequest(call.request)).then(
          (reply) => cb(null, toResponse(reply)),
          (err: Error) => cb({ code: grpc.status.UNAVAILABLE, details: err.message }),
        );
      },
      LeaseForwardBatch: (call: grpc.ServerUnaryCall<LeaseForwardBatchRequest__Output, LeaseForwardBatchResponse>, cb: grpc.sendUnaryData<LeaseForwardBatchResponse>) => {
        const receiver = t.receiver;
        if (receiver === undefined) return cb({ code: grpc.status.UNAVAILABLE, details: 'member is starting' });
        void answerBatch(call.request.requests.map(fromRequest), (req) => receiver.leaseRequest(req)).then((results) => cb(null, { results }));
      },
    });
    // The sockets (and TLS) are ours: a connection that opens as a Raft stream stays here, gRPC gets the rest.
    const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    const kinds: PeerStreamKind[] = [
      { preface: RAFT_PREFACE, serve: (raft, rest) => t.serveRaftStream(raft, rest) },
      { preface: SNAPSHOT_PREFACE, serve: (snapshot, rest) => t.serveSnapshotStream(snapshot, rest) },
    ];
    const accept = (socket: Socket) => sniffPeerConnection(socket, kinds, (other) => injector.injectConnection(other));
    for (const { hostPort: addr, tls } of listen) {
      const { server: listener, port } = await listenOn(addr, tls && { ...tls, ALPNProtocols: ['h2'] }, accept);
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

  /** Which cluster this member is in, and who the members are (itself among them). */
  setPeers(self: NodeId, clusterId: bigint, members: Array<{ id: NodeId; peerURLs: string[] }>): void {
    this.self = self;
    this.clusterId = clusterId;
    for (const m of members) this.setPeer(m.id, m.peerURLs);
  }

  setPeer(id: NodeId, peerURLs: string[]): void {
    if (id === this.self) {
      this.advertisedPeerURL = peerURLs[0];
      return;
    }
    const address = hostPort(peerURLs[0]!);
    this.listed.set(id, address);
    this.dialAt(id, address);
  }

  removePeer(id: NodeId): void {
    this.listed.delete(id);
    this.senders.get(id)?.close();
    this.senders.delete(id);
  }

  /** Sends to `id` at `address` from now on, unless it already does. */
  private dialAt(id: NodeId, address: string): void {
    const old = this.senders.get(id);
    if (old?.address === address) return;
    old?.close();
    this.senders.set(id, new PeerSender(id, address, this.clusterId, this.self, this, this.log));
  }

  /**
   * A peer that opened a stream to this member said where it is reached. A member whose membership
   * is behind (it was down while that peer's URL changed, or while the peer joined) has no working
   * link to it, and the peer would hear nothing back: no answers to its appends, so no catch-up,
   * so no membership update. It dials where the peer says until its own link works again or its
   * membership changes (etcd's peers answer on the streams the other side opened).
   */
  private heardFrom(id: NodeId, url: string): void {
    let address: string;
    try {
      address = hostPort(url);
    } catch {
      return;
    }
    const current = this.senders.get(id);
    if (current?.address === address || current?.connected) return;
    this.log.info('dialing a peer where it says it is', { peer: id.toString(16), address, listed: this.listed.get(id) });
    this.dialAt(id, address);
  }

  /** A dial to `id` found nobody: one at an address the peer gave goes back to its listed one. */
  dialFailed(id: NodeId): void {
    const listed = this.listed.get(id);
    if (listed !== undefined && this.senders.get(id)?.address !== listed) {
      this.log.info('dialing a peer at its listed address again', { peer: id.toString(16), address: listed });
      this.dialAt(id, listed);
    }
    this.unreachable(id);
  }

  /** A gRPC call from a peer that refusal() turns away is answered FAILED_PRECONDITION; returns whether it may go on. */
  acceptFrom(metadata: grpc.Metadata, cb: grpc.sendUnaryData<never>): boolean {
    const refused = this.refusal(senderOf(metadata), String(metadata.get(CLUSTER_ID_HEADER)[0] ?? ''));
    if (refused !== undefined) cb({ code: grpc.status.FAILED_PRECONDITION, details: refused });
    return refused === undefined;
  }

  /**
   * Why a peer is turned away, if it is: it was removed from the cluster (it is told so, in etcd's
   * words), or it belongs to another cluster (a member started with the wrong flags or data dir).
   */
  private refusal(sender: NodeId | undefined, theirClusterId: string): string | undefined {
    if (sender !== undefined && this.receiver?.isRemoved(sender)) return REMOVED_DETAILS;
    const ours = this.clusterId.toString(16);
    if (theirClusterId === ours) return undefined;
    this.log.warn('rejected stream from a peer of another cluster', { 'local-cluster-id': ours, 'remote-cluster-id': theirClusterId });
    return `request cluster ID mismatch (got ${theirClusterId} want ${ours})`;
  }

  /**
   * A peer's Raft stream (raft-stream.ts), past its preface: a hello naming the sender and its
   * cluster, then batches of messages for Raft. A refused sender gets the reason and the end.
   */
  private serveRaftStream(socket: Duplex, rest: Buffer): void {
    this.track(socket);
    socket.on('error', () => { /* the sender reconnects; nothing to clean up here */ });
    const reader = new FrameReader(HELLO_BYTES);
    let sender: NodeId | undefined;
    let liveness: LinkLiveness | undefined;
    socket.once('close', () => liveness?.stop());
    const refuse = (details: string) => {
      liveness?.stop();
      socket.off('data', onData);
      socket.end(frame(Buffer.from(details)));
    };
    const drop = (reason: string, err: unknown) => {
      this.log.warn(reason, { peer: sender?.toString(16), error: (err as Error).message });
      socket.off('data', onData);
      socket.destroy();
    };
    const onData = (bytes: Buffer) => {
      reader.push(bytes);
      liveness?.heard(false);
      for (;;) {
        let payload: Buffer | undefined;
        try {
          payload = reader.next();
        } catch (err) {
          return drop('closed a raft stream with a frame too large', err);
        }
        if (payload === undefined) return;
        if (sender === undefined) {
          let hello: { clusterId: bigint; memberId: bigint };
          try {
            hello = parseHello(payload);
          } catch (err) {
            return drop('closed a raft stream without a hello', err);
          }
          const refused = this.refusal(hello.memberId, hello.clusterId.toString(16));
          if (refused !== undefined) return refuse(refused);
          sender = hello.memberId;
          reader.limit = MAX_FRAME_BYTES;
          liveness = new LinkLiveness(this.timeouts.linkMs, () => socket.write(PING), () => {
            drop('closed a silent raft stream', new Error(`no word from the sender for ${this.timeouts.linkMs} ms`));
          });
          continue;
        }
        if (payload.length === 0) {
          liveness!.heard(true);
          continue;
        }
        // A stream opened before its sender was removed is cut when the next batch comes; the
        // cluster ID, checked in the hello, cannot change within a stream.
        if (this.receiver?.isRemoved(sender)) return refuse(REMOVED_DETAILS);
        let messages: Message[];
        let url: string | undefined;
        try {
          messages = decodeMessageBatch(payload);
          if (messages.length === 0) url = senderPeerURLOf(payload);
        } catch (err) {
          return drop('closed a raft stream with a malformed batch', err);
        }
        if (url !== undefined) this.heardFrom(sender, url);
        for (const m of messages) this.receiver?.receive(m);
      }
    };
    socket.on('data', onData);
    if (rest.length > 0) onData(rest);
  }

  /** A peer's snapshot (snapshot-stream.ts), past its preface. */
  private serveSnapshotStream(socket: Duplex, rest: Buffer): void {
    this.track(socket);
    void receiveSnapshotStream(socket, rest, {
      refusal: (sender, cluster) => this.refusal(sender, cluster), receiver: () => this.receiver, log: this.log, idleMs: this.timeouts.snapshotIdleMs,
    });
  }

  private track(socket: Duplex): void {
    this.peerConnections.add(socket);
    socket.once('close', () => this.peerConnections.delete(socket));
  }

  attach(receiver: TransportReceiver): void {
    this.receiver = receiver;
  }

  forwardLease(to: NodeId, req: LeaseForward): Promise<LeaseForwardReply> {
    return this.ask(to, (sender) => sender.forwardLease(req));
  }

  learnerReady(to: NodeId, learner: NodeId): Promise<boolean> {
    return this.ask(to, (sender) => sender.learnerReady(learner));
  }

  activeVoters(to: NodeId): Promise<Set<NodeId>> {
    return this.ask(to, (sender) => sender.activeVoters());
  }

  /** A question to the member `to`, refused at once if it is not one this member knows. */
  private ask<T>(to: NodeId, question: (sender: PeerSender) => Promise<T>): Promise<T> {
    const sender = this.senders.get(to);
    if (sender === undefined) return Promise.reject(new Error(`unknown member ${to.toString(16)}`));
    return question(sender);
  }

  send(msgs: Message[]): void {
    const touched = new Set<PeerSender>();
    for (const m of msgs) {
      const sender = this.senders.get(m.to);
      if (sender === undefined) {
        this.receiver?.unreachable(m.to);
      } else {
        sender.enqueue(m);
        touched.add(sender);
      }
    }
    // A Ready's messages to one peer share one write, made now: a leader's appends must be on
    // the wire before its own fsync holds the event loop.
    for (const sender of touched) sender.flush();
  }

  sendSnapshot(m: Message, state: AsyncIterable<Uint8Array>): Promise<void> {
    const sender = this.senders.get(m.to);
    if (sender !== undefined) return sender.sendSnapshot(m, state);
    this.receiver?.snapshotSent(m.to, true);
    return Promise.resolve();
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
    for (const c of this.peerConnections) c.destroy();
    this.server.forceShutdown();
  }
}

/** How long a peer link may stay silent before it is given up (tests shorten them). */
export interface PeerTimeouts {
  /** A Raft stream with no word from the other side (link-liveness.ts). */
  linkMs: number;
  /** A snapshot connection on which neither side made progress (snapshot-stream.ts). */
  snapshotIdleMs: number;
}

const PEER_TIMEOUTS: PeerTimeouts = { linkMs: LINK_TIMEOUT_MS, snapshotIdleMs: SNAPSHOT_IDLE_MS };

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
export async function fetchClusterInfo(peerURLs: string[], timeoutMs: number, tls?: PeerDialTls): Promise<ClusterInfo> {
  const errors: string[] = [];
  for (const url of peerURLs) {
    const client = new peerPackage.Peer(hostPort(url), grpcCredentials(tls), PEER_CHANNEL);
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


/** The sending side toward one peer: Raft messages on a connection of its own, the rest over gRPC. */
class PeerSender {
  private readonly client: PeerClient;
  private connection: Socket | undefined;
  private liveness: LinkLiveness | undefined;
  /** Snapshots on their way to the peer, each on a connection of its own. */
  private readonly snapshotConnections = new Set<Socket>();
  private dialing = false;
  private queue: Message[] = [];
  private waitingForDrain = false;
  private reconnectAt = 0;
  private backoffMs = RECONNECT_MIN_MS;
  private closed = false;

  private readonly metadata = new grpc.Metadata();
  private readonly leases: LeaseForwarder;

  constructor(
    private readonly id: NodeId,
    readonly address: string,
    private readonly clusterId: bigint,
    private readonly self: NodeId,
    private readonly transport: PeerPortTransport,
    private readonly log: Logger,
  ) {
    this.client = new peerPackage.Peer(address, grpcCredentials(transport.dialTls()), PEER_CHANNEL);
    this.metadata.set(CLUSTER_ID_HEADER, clusterId.toString(16));
    this.metadata.set(MEMBER_ID_HEADER, self.toString(16));
    this.leases = new LeaseForwarder(this.client, this.metadata);
  }

  enqueue(m: Message): void {
    if (this.queue.length >= MAX_QUEUED_MESSAGES) {
      this.transport.unreachable(this.id);
      return;
    }
    this.queue.push(m);
  }

  forwardLease(req: LeaseForward): Promise<LeaseForwardReply> {
    return this.leases.ask(req);
  }

  learnerReady(learner: NodeId): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.client.LearnerReady({ learner: learner.toString() }, this.metadata, this.questionDeadline(), answer(resolve, reject, (res) => res.ready));
    });
  }

  activeVoters(): Promise<Set<NodeId>> {
    return new Promise((resolve, reject) => {
      this.client.ActiveVoters({}, this.metadata, this.questionDeadline(), answer(resolve, reject, (res: ActiveVotersResponse__Output) => new Set(res.ids.map(BigInt))));
    });
  }

  private questionDeadline(): grpc.CallOptions {
    return { deadline: Date.now() + LEASE_FORWARD_TIMEOUT_MS };
  }

  /** Sends a snapshot on a connection of its own (snapshot-stream.ts), and reports how it went. */
  async sendSnapshot(m: Message, state: AsyncIterable<Uint8Array>): Promise<void> {
    const startedAt = performance.now();
    let failed = true;
    try {
      const socket = await dialPeer(this.address, this.transport.dialTls());
      this.snapshotConnections.add(socket);
      try {
        const { bytes, answer } = await sendSnapshotStream(
          socket, opening(this.clusterId, this.self, SNAPSHOT_PREFACE), m, state, this.transport.timeouts.snapshotIdleMs,
        );
        failed = answer !== '';
        if (!failed) {
          this.log.info('sent snapshot', { to: this.id.toString(16), index: m.snapshot!.metadata.index, bytes, ms: Math.round(performance.now() - startedAt) });
        } else if (answer === REMOVED_DETAILS) {
          this.transport.removed();
        } else {
          this.log.error('a peer refused a snapshot', { peer: this.id.toString(16), address: this.address, error: answer });
        }
      } finally {
        this.snapshotConnections.delete(socket);
        socket.destroy();
      }
    } catch (err) {
      this.log.warn('cannot send snapshot', { to: this.id.toString(16), error: String(err) });
    }
    this.transport.snapshotSent(this.id, failed);
  }

  /** Whether its Raft stream to the peer is open. */
  get connected(): boolean {
    return this.connection !== undefined;
  }

  close(): void {
    this.closed = true;
    this.connection?.end();
    for (const c of this.snapshotConnections) c.destroy();
    this.client.close();
  }

  /** Writes what is queued, unless the connection is not there yet or not drained. */
  flush(): void {
    if (this.closed || this.waitingForDrain || this.queue.length === 0) return;
    if (this.connection === undefined) {
      if (this.dialing) return; // flushed once connected
      if (Date.now() < this.reconnectAt) {
        // Still backing off: what is queued is lost, as it would be on a dead link.
        this.queue = [];
        this.transport.unreachable(this.id);
        return;
      }
      this.connect();
      return;
    }
    this.liveness?.wrote();
    if (!this.connection.write(framedBatches(this.queue.splice(0)))) {
      this.waitingForDrain = true;
      this.connection.once('drain', () => {
        this.waitingForDrain = false;
        this.flush();
      });
    }
  }

  /** Opens the Raft stream to the peer (raft-stream.ts); what is queued meanwhile goes once it is open. */
  private connect(): void {
    this.dialing = true;
    const openedAt = Date.now();
    dialPeer(this.address, this.transport.dialTls()).then((connection) => {
      this.dialing = false;
      if (this.closed) return void connection.destroy();
      this.connection = connection;
      const url = this.transport.advertisedPeerURL;
      connection.write(url === undefined ? opening(this.clusterId, this.self)
        : Buffer.concat([opening(this.clusterId, this.self), frame(encodeSenderPeerURL(url))]));
      this.watch(connection, openedAt);
      this.flush();
    }, () => {
      this.dialing = false;
      if (!this.closed) this.unanswered();
    });
  }

  /**
   * Reads the peer's pings and its refusal, if it refuses; keeps the link alive and gives it up
   * when the peer falls silent (link-liveness.ts); learns when the connection is gone.
   */
  private watch(connection: Socket, openedAt: number): void {
    const reader = new FrameReader(MAX_ANSWER_BYTES);
    let refusal: string | undefined;
    let failure: string | undefined;
    const { linkMs } = this.transport.timeouts;
    const liveness = new LinkLiveness(linkMs, () => connection.write(PING), () => {
      connection.destroy(new Error(`no word from the peer for ${linkMs} ms`));
    });
    this.liveness = liveness;
    connection.on('data', (bytes: Buffer) => {
      reader.push(bytes);
      liveness.heard(false);
      try {
        for (let payload = reader.next(); payload !== undefined; payload = reader.next()) {
          if (payload.length === 0) liveness.heard(true);
          else refusal ??= payload.toString();
        }
      } catch (err) {
        connection.destroy(err as Error);
      }
    });
    connection.on('error', (err) => (failure = err.message));
    connection.once('close', () => {
      liveness.stop();
      if (this.connection !== connection) return;
      this.liveness = undefined;
      this.connection = undefined;
      this.waitingForDrain = false;
      if (!this.closed) this.lost(openedAt, refusal, failure);
    });
    connection.resume();
  }

  /**
   * The peer did not take the dial: it is down or not started yet. Dialled again soon, without
   * backing off: a member added to the cluster and started a second later waited for the leader's
   * doubled wait (0.8 s measured) before its catch-up began.
   */
  private unanswered(): void {
    this.reconnectAt = Date.now() + RECONNECT_MIN_MS;
    this.transport.dialFailed(this.id);
  }

  /** The link is down: says why, backs off before the next dial, and tells Raft. */
  private lost(openedAt: number, refusal: string | undefined, failure: string | undefined): void {
    // A connection that lived a while was a working link: start backing off from the bottom again.
    const healthy = Date.now() - openedAt > RECONNECT_MAX_MS;
    if (refusal === REMOVED_DETAILS) {
      this.transport.removed();
    } else if (refusal !== undefined) {
      this.log.error('a peer refused this member', { peer: this.id.toString(16), address: this.address, error: refusal });
    }
    if (healthy) {
      this.backoffMs = RECONNECT_MIN_MS;
      this.log.warn('lost the stream to a peer', { peer: this.id.toString(16), address: this.address, error: refusal ?? failure });
    } else {
      this.backoffMs = Math.min(this.backoffMs * 2, RECONNECT_MAX_MS);
    }
    this.reconnectAt = Date.now() + this.backoffMs;
    this.transport.unreachable(this.id);
  }
}

/** The callback of a question to a peer: its answer, through `pick`, or the failure (none is one too). */
function answer<Res, T>(resolve: (value: T) => void, reject: (err: Error) => void, pick: (res: Res) => T): grpc.requestCallback<Res> {
  return (err, res) => (err || !res ? reject(err ?? new Error('no answer')) : resolve(pick(res)));
}
