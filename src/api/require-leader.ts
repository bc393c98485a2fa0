import * as grpc from '@grpc/grpc-js';
import { KeelServer } from '../server/keel-server';

/** etcd's rpctypes.ErrGRPCNoLeader. */
const NO_LEADER = { code: grpc.status.UNAVAILABLE, details: 'etcdserver: no leader' };

/** Election timeouts without a leader after which streams that require one are ended (etcd's maxNoLeaderCnt). */
const ELECTIONS_WITHOUT_LEADER = 3;

/** Whether the client asked for a leader: clientv3.WithRequireLeader, the `hasleader` metadata. */
function requiresLeader(call: { metadata: grpc.Metadata }): boolean {
  return call.metadata.get('hasleader')[0] === 'true';
}

/**
 * etcd's handling of calls that require a leader (clientv3.WithRequireLeader, which the Kubernetes
 * apiserver's watches, etcdctl watch and Go's lease keep-alives send): one made while the member
 * knows no leader is refused with "etcdserver: no leader", and an open stream that asked for one
 * is ended with it once the member has gone three election timeouts without one. A watch on a
 * member cut off from the quorum would otherwise stay open and silent, and its client would never
 * move to a member that can tell it of new writes.
 */
export class LeaderRequirement {
  private readonly streams = new Set<grpc.ServerWritableStream<unknown, unknown>>();
  private checksWithoutLeader = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly server: KeelServer, electionTimeoutMs: number) {
    this.timer = setInterval(() => this.check(), electionTimeoutMs);
    this.timer.unref();
  }

  /** The service's handlers, each refusing a call that requires a leader while there is none. */
  apply<T extends object>(definition: grpc.ServiceDefinition, impl: T): T {
    const out: Record<string, unknown> = { ...(impl as Record<string, unknown>) };
    for (const [name, handler] of Object.entries(impl as Record<string, unknown>)) {
      const method = definition[name];
      if (method === undefined || typeof handler !== 'function') continue;
      out[name] = method.requestStream || method.responseStream
        ? (call: grpc.ServerWritableStream<unknown, unknown>) => {
          if (requiresLeader(call)) {
            if (this.server.leader === 0n) {
              call.emit('error', NO_LEADER);
              return;
            }
            this.track(call);
          }
          handler(call);
        }
        : (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
          if (requiresLeader(call) && this.server.leader === 0n) callback(NO_LEADER);
          else handler(call, callback);
        };
    }
    return out as T;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private track(call: grpc.ServerWritableStream<unknown, unknown>): void {
    this.streams.add(call);
    const untrack = () => this.streams.delete(call);
    call.once('finish', untrack);
    call.once('cancelled', untrack);
  }

  /** Once an election timeout, as etcd's monitorLeader: the streams go only after three in a row found no leader. */
  private check(): void {
    this.checksWithoutLeader = this.server.leader === 0n ? this.checksWithoutLeader + 1 : 0;
    if (this.checksWithoutLeader < ELECTIONS_WITHOUT_LEADER) return;
    const ending = [...this.streams];
    this.streams.clear();
    for (const call of ending) call.emit('error', NO_LEADER);
  }
}
