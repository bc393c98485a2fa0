import * as grpc from '@grpc/grpc-js';
import { KeelServer } from '../server/keel-server';
import { Logger } from '../util/logger';
import { etcdPackage } from '../wire/etcd-package';
import { clusterService } from './cluster-service';
import { kvService } from './kv-service';
import { leaseService } from './lease-service';
import { maintenanceService } from './maintenance-service';
import { watchService } from './watch-service';
import { GrpcMetrics } from './grpc-metrics';

/** gRPC framing allowed on top of --max-request-bytes, as etcd allows. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;

/**
 * The client-facing gRPC server of one member, listening on every given host:port.
 * Returns it with the ports it bound (port 0 asks the kernel for one).
 */
export async function startClientServer(
  server: KeelServer, listenAddrs: string[], limits: { maxRequestBytes: number; watchProgressNotifyIntervalMs: number }, log: Logger,
): Promise<{ grpcServer: grpc.Server; ports: number[] }> {
  const { maxRequestBytes } = limits;
  const grpcServer = new grpc.Server({ 'grpc.max_receive_message_length': maxRequestBytes + GRPC_OVERHEAD_BYTES });
  // Every RPC is counted under go-grpc-prometheus's names, on the member's registry.
  const metrics = new GrpcMetrics(server.registry);
  const add = (definition: grpc.ServiceDefinition, impl: object) => {
    grpcServer.addService(definition, metrics.instrument(definition, impl) as grpc.UntypedServiceImplementation);
  };
  add(etcdPackage.KV.service, kvService(server, log));
  add(etcdPackage.Lease.service, leaseService(server, log));
  add(etcdPackage.Watch.service, watchService(server, log, {
    progressNotifyIntervalMs: limits.watchProgressNotifyIntervalMs, maxResponseBytes: maxRequestBytes,
  }));
  // Methods left out answer UNIMPLEMENTED, which is what a client should see for them.
  add(etcdPackage.Maintenance.service, maintenanceService(server, log));
  add(etcdPackage.Cluster.service, clusterService(server, log));
  const ports: number[] = [];
  for (const addr of listenAddrs) {
    ports.push(await new Promise<number>((resolve, reject) => {
      grpcServer.bindAsync(addr, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
    }));
    log.info('serving client traffic insecurely', { address: addr });
  }
  return { grpcServer, ports };
}

/** Time in-flight calls get to finish at shutdown before the rest (watch streams, say) are cut. */
const SHUTDOWN_GRACE_MS = 2000;

/** Stops taking calls, lets unary calls finish for a moment, then closes what is left. */
export function stopClientServer(grpcServer: grpc.Server): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => grpcServer.forceShutdown(), SHUTDOWN_GRACE_MS);
    grpcServer.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}
