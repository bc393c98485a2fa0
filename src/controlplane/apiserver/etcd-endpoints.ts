import * as grpc from '@grpc/grpc-js';
import { EtcdClient } from '../../client/etcd-client';

/**
 * The apiserver's view of the store: a client per `--etcd-servers` endpoint, used one at a time.
 * A call that finds its member unreachable moves on to the next member and is retried there, so a
 * lost member costs one failed attempt, not an outage. Only UNAVAILABLE moves on: the request never
 * reached a member, so retrying it cannot apply it twice.
 */
export class EtcdEndpoints {
  private readonly clients: EtcdClient[];
  private current = 0;

  constructor(endpoints: string[], commandTimeoutMs = 5000) {
    if (endpoints.length === 0) throw new Error('at least one etcd endpoint is needed');
    // Each member gets a TCP connection of its own, so one dead member cannot stall the others. No
    // limit on answers (gRPC's default is 4 MiB), as kube-apiserver sets its etcd client: a page of
    // big objects or one large object must not fail a read.
    const channelOptions = { 'grpc.use_local_subchannel_pool': 1, 'grpc.max_receive_message_length': -1 };
    this.clients = endpoints.map((e) => new EtcdClient(e, { commandTimeoutMs, channelOptions }));
  }

  /** The member calls go to now; watches are opened here too. */
  get client(): EtcdClient {
    return this.clients[this.current]!;
  }

  /** Runs `call` on the current member, moving on through the others while they are unreachable. */
  async run<T>(call: (c: EtcdClient) => Promise<T>): Promise<T> {
    for (let tried = 1; ; tried++) {
      const c = this.client;
      try {
        return await call(c);
      } catch (err) {
        if ((err as grpc.ServiceError).code !== grpc.status.UNAVAILABLE || tried >= this.clients.length) throw err;
        this.failedOver(c);
      }
    }
  }

  /** `c` could not be reached: later calls go to the next member (unless another call moved on already). */
  failedOver(c: EtcdClient): void {
    if (this.client === c) this.current = (this.current + 1) % this.clients.length;
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}
