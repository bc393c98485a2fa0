import * as grpc from '@grpc/grpc-js';
import type { Server as NetServer, Socket } from 'node:net';
import type { Server as TlsServer, TlsOptions } from 'node:tls';
import { KeelServer } from '../server/keel-server';
import { isLoopback } from '../util/host-port';
import { listenOn } from '../util/listen';
import { Logger } from '../util/logger';
import { etcdPackage } from '../wire/etcd-package';
import { clusterService } from './cluster-service';
import { KV_SERVICE, kvService } from './kv-service';
import { leaseService } from './lease-service';
import { maintenanceService } from './maintenance-service';
import { watchService } from './watch-service';
import { guardService } from './auth-guard';
import { LeaderRequirement } from './require-leader';
import { authService } from './auth-service';
import { acceptConnection } from './authority-repair';
import { GrpcMetrics } from './grpc-metrics';

/** gRPC framing allowed on top of --max-request-bytes, as etcd allows. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;

/** Where to serve clients: host:port, with TLS (https URLs) or without. */
export interface ClientListen {
  hostPort: string;
  tls?: TlsOptions;
}

/** The client-facing gRPC server of one member and the sockets it listens on. */
export interface ClientServer {
  grpcServer: grpc.Server;
  listeners: NetServer[];
  /** The TLS listeners, whose certificates can be swapped while they run (setSecureContext). */
  tlsListeners: TlsServer[];
  /** The ports bound, in the order of the addresses (port 0 asks the kernel for one). */
  ports: number[];
  /** Every client connection open now. */
  connections: Set<Socket>;
  /** Ends streams that require a leader when the member has none. */
  leaderRequirement: LeaderRequirement;
}

/**
 * The client-facing gRPC server of one member, listening on every given address. The sockets
 * (and TLS) are ours and connections are handed to gRPC one by one, so that etcdctl's malformed
 * authority can be repaired first (authority-repair.ts).
 */
export async function startClientServer(
  server: KeelServer, listen: ClientListen[],
  limits: { maxRequestBytes: number; watchProgressNotifyIntervalMs: number; maxConcurrentStreams?: number; electionTimeoutMs: number }, log: Logger,
): Promise<ClientServer> {
  const { maxRequestBytes } = limits;
  const grpcServer = new grpc.Server({
    'grpc.max_receive_message_length': maxRequestBytes + GRPC_OVERHEAD_BYTES,
    // grpc-js tracks every call and session for channelz, a service no member serves: it cost a put
    // a closure set and timestamps, 4 % of what a member allocates under load.
    'grpc.enable_channelz': 0,
    // Advertised in each connection's HTTP/2 SETTINGS: a client queues calls beyond it.
    ...(limits.maxConcurrentStreams === undefined ? {} : { 'grpc.max_concurrent_streams': limits.maxConcurrentStreams }),
  });
  // Every RPC is counted under go-grpc-prometheus's names, on the member's registry.
  const metrics = new GrpcMetrics(server.registry);
  const leaderRequirement = new LeaderRequirement(server, limits.electionTimeoutMs);
  // A call refused for want of a leader or by auth is still counted, with the code it got.
  const add = (definition: grpc.ServiceDefinition, impl: object) => {
    const guarded = leaderRequirement.apply(definition, guardService(server, definition, impl));
    grpcServer.addService(definition, metrics.instrument(definition, guarded) as grpc.UntypedServiceImplementation);
  };
  add(KV_SERVICE, kvService(server, log));
  add(etcdPackage.Lease.service, leaseService(server, log));
  add(etcdPackage.Watch.service, watchService(server, log, {
    progressNotifyIntervalMs: limits.watchProgressNotifyIntervalMs, maxResponseBytes: maxRequestBytes,
  }));
  // Methods left out answer UNIMPLEMENTED, which is what a client should see for them.
  add(etcdPackage.Maintenance.service, maintenanceService(server, log));
  add(etcdPackage.Cluster.service, clusterService(server, log));
  add(etcdPackage.Auth.service, authService(server, log));
  const injector = grpcServer.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const listeners: NetServer[] = [];
  const tlsListeners: TlsServer[] = [];
  const ports: number[] = [];
  const connections = new Set<Socket>();
  const accept = (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
    acceptConnection(socket, (connection) => injector.injectConnection(connection), limits.maxConcurrentStreams);
  };
  try {
    for (const { hostPort, tls } of listen) {
      // gRPC clients insist on HTTP/2 by ALPN.
      const { server: listener, port } = await listenOn(hostPort, tls && { ...tls, ALPNProtocols: ['h2'] }, accept);
      listeners.push(listener);
      ports.push(port);
      if (tls === undefined && !isLoopback(hostPort)) {
        log.warn('serving client traffic insecurely on a non-loopback address; anyone who can reach it can read and write every key (use an https URL with --cert-file and --key-file)', { address: hostPort });
      } else if (tls === undefined) {
        log.info('serving client traffic insecurely', { address: hostPort });
      } else {
        tlsListeners.push(listener as TlsServer);
        listener.on('tlsClientError', (err: Error, socket: Socket) => {
          log.warn('rejected connection', { 'remote-addr': socket.remoteAddress, error: err.message });
        });
        log.info('serving client traffic securely', { address: hostPort, 'client-cert-auth': tls.requestCert === true });
      }
    }
  } catch (err) {
    listeners.forEach((l) => l.close());
    injector.destroy();
    leaderRequirement.stop();
    throw err;
  }
  return { grpcServer, listeners, tlsListeners, ports, connections, leaderRequirement };
}

/** Time in-flight calls get to finish at shutdown before the rest (watch streams, say) are cut. */
const SHUTDOWN_GRACE_MS = 2000;

/**
 * Stops taking connections and calls, lets unary calls finish for a moment, then closes what is
 * left. The connections are cut here: grpc-js's forceShutdown closes only the sessions it tracks
 * for channelz, which is off (a member with a watch open never stopped).
 */
export function stopClientServer({ grpcServer, listeners, connections, leaderRequirement }: ClientServer): Promise<void> {
  listeners.forEach((l) => l.close());
  leaderRequirement.stop();
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      grpcServer.forceShutdown();
      for (const socket of connections) socket.destroy();
    }, SHUTDOWN_GRACE_MS);
    grpcServer.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}
