import * as grpc from '@grpc/grpc-js';
import { Counter, Registry } from 'prom-client';
import { messagesIn } from './framed-messages';

type GrpcType = 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream';
type Labels = { grpc_type: GrpcType; grpc_service: string; grpc_method: string };

/** grpc-go's names of the status codes, which go-grpc-prometheus puts in grpc_code. */
const CODE_NAMES: Record<number, string> = {
  0: 'OK', 1: 'Canceled', 2: 'Unknown', 3: 'InvalidArgument', 4: 'DeadlineExceeded', 5: 'NotFound', 6: 'AlreadyExists',
  7: 'PermissionDenied', 8: 'ResourceExhausted', 9: 'FailedPrecondition', 10: 'Aborted', 11: 'OutOfRange',
  12: 'Unimplemented', 13: 'Internal', 14: 'Unavailable', 15: 'DataLoss', 16: 'Unauthenticated',
};

/** A call as every kind of grpc-js server call looks to the wrapper. */
type AnyCall = grpc.ServerUnaryCall<unknown, unknown> & {
  write?: (...args: unknown[]) => boolean;
  end?: (...args: unknown[]) => void;
};

/**
 * One method's calls since the last scrape, as plain numbers: prom-client hashes and validates the
 * labels on every inc(), which cost a member four label hashes per unary call.
 */
class MethodCounts {
  started = 0;
  received = 0;
  sent = 0;
  readonly handled = new Map<string, number>();

  constructor(readonly labels: Labels) {}
}

/**
 * go-grpc-prometheus's server metrics, which etcd exposes: every RPC counted when it starts and
 * when it is handled (with its status code), and every message received and sent. Calls count
 * into MethodCounts; a scrape moves those counts into the registry's counters.
 */
export class GrpcMetrics {
  private readonly started: Counter<keyof Labels>;
  private readonly handled: Counter<keyof Labels | 'grpc_code'>;
  private readonly received: Counter<keyof Labels>;
  private readonly sent: Counter<keyof Labels>;
  private readonly methods: MethodCounts[] = [];

  constructor(registry: Registry) {
    const registers = [registry];
    const labelNames = ['grpc_type', 'grpc_service', 'grpc_method'] as const;
    // Whichever counter a scrape reads first moves every count; the others then find none left.
    const collect = () => this.moveCounts();
    this.started = new Counter({ name: 'grpc_server_started_total', help: 'Total number of RPCs started on the server.', labelNames, registers, collect });
    this.handled = new Counter({
      name: 'grpc_server_handled_total', help: 'Total number of RPCs completed on the server, regardless of success or failure.',
      labelNames: [...labelNames, 'grpc_code'], registers, collect,
    });
    this.received = new Counter({ name: 'grpc_server_msg_received_total', help: 'Total number of RPC stream messages received on the server.', labelNames, registers, collect });
    this.sent = new Counter({ name: 'grpc_server_msg_sent_total', help: 'Total number of gRPC stream messages sent by the server.', labelNames, registers, collect });
  }

  private moveCounts(): void {
    for (const m of this.methods) {
      if (m.started > 0) this.started.inc(m.labels, m.started);
      if (m.received > 0) this.received.inc(m.labels, m.received);
      if (m.sent > 0) this.sent.inc(m.labels, m.sent);
      for (const [code, n] of m.handled) if (n > 0) this.handled.inc({ ...m.labels, grpc_code: code }, n);
      m.started = m.received = m.sent = 0;
      m.handled.clear();
    }
  }

  /** The service's handlers, each counted; methods the implementation lacks stay absent. */
  instrument<T extends object>(definition: grpc.ServiceDefinition, impl: T): T {
    const out: Record<string, unknown> = {};
    for (const [name, handler] of Object.entries(impl)) {
      const method = definition[name];
      if (method === undefined || typeof handler !== 'function') continue;
      const [service, methodName] = method.path.slice(1).split('/') as [string, string];
      const grpcType: GrpcType = method.requestStream
        ? (method.responseStream ? 'bidi_stream' : 'client_stream')
        : (method.responseStream ? 'server_stream' : 'unary');
      out[name] = this.wrap({ grpc_type: grpcType, grpc_service: service, grpc_method: methodName }, handler as (...a: unknown[]) => void);
    }
    return out as T;
  }

  private wrap(labels: Labels, handler: (...args: unknown[]) => void): (...args: unknown[]) => void {
    const counts = new MethodCounts(labels);
    this.methods.push(counts);
    return (call: unknown, callback?: unknown) => {
      counts.started++;
      let done = false;
      const handled = (code: number) => {
        if (done) return;
        done = true;
        const name = CODE_NAMES[code] ?? 'Unknown';
        counts.handled.set(name, (counts.handled.get(name) ?? 0) + 1);
      };
      if (labels.grpc_type === 'unary') {
        counts.received++;
        const cb = callback as grpc.sendUnaryData<unknown>;
        handler(call, (err: Partial<grpc.StatusObject> | null, res?: unknown) => {
          if (err == null) counts.sent++;
          handled(err == null ? grpc.status.OK : err.code ?? grpc.status.UNKNOWN);
          cb(err as grpc.ServerErrorResponse | null, res);
        });
        return;
      }
      const c = call as AnyCall;
      if (labels.grpc_type === 'server_stream') counts.received++;
      const write = c.write!.bind(c);
      c.write = (...args: unknown[]) => {
        counts.sent += messagesIn(args[0]);
        return write(...args);
      };
      const end = c.end!.bind(c);
      c.end = (...args: unknown[]) => {
        handled(grpc.status.OK);
        end(...args);
      };
      // A handler fails a stream by emitting its status as an error.
      const emit = c.emit.bind(c);
      c.emit = (event: string | symbol, ...args: unknown[]) => {
        const s = args[0] as Partial<grpc.StatusObject> | undefined;
        if (event === 'error' && typeof s?.code === 'number') handled(s.code);
        return emit(event, ...args);
      };
      c.on('cancelled', () => handled(grpc.status.CANCELLED));
      handler(call);
      if (labels.grpc_type !== 'server_stream') c.on('data', () => counts.received++);
    };
  }
}
