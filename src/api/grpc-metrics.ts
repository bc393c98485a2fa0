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
 * go-grpc-prometheus's server metrics, which etcd exposes: every RPC counted when it starts and
 * when it is handled (with its status code), and every message received and sent.
 */
export class GrpcMetrics {
  private readonly started: Counter<keyof Labels>;
  private readonly handled: Counter<keyof Labels | 'grpc_code'>;
  private readonly received: Counter<keyof Labels>;
  private readonly sent: Counter<keyof Labels>;

  constructor(registry: Registry) {
    const registers = [registry];
    const labelNames = ['grpc_type', 'grpc_service', 'grpc_method'] as const;
    this.started = new Counter({ name: 'grpc_server_started_total', help: 'Total number of RPCs started on the server.', labelNames, registers });
    this.handled = new Counter({
      name: 'grpc_server_handled_total', help: 'Total number of RPCs completed on the server, regardless of success or failure.',
      labelNames: [...labelNames, 'grpc_code'], registers,
    });
    this.received = new Counter({ name: 'grpc_server_msg_received_total', help: 'Total number of RPC stream messages received on the server.', labelNames, registers });
    this.sent = new Counter({ name: 'grpc_server_msg_sent_total', help: 'Total number of gRPC stream messages sent by the server.', labelNames, registers });
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
    return (call: unknown, callback?: unknown) => {
      this.started.inc(labels);
      let done = false;
      const handled = (code: number) => {
        if (done) return;
        done = true;
        this.handled.inc({ ...labels, grpc_code: CODE_NAMES[code] ?? 'Unknown' });
      };
      if (labels.grpc_type === 'unary') {
        this.received.inc(labels);
        const cb = callback as grpc.sendUnaryData<unknown>;
        handler(call, (err: Partial<grpc.StatusObject> | null, res?: unknown) => {
          if (err == null) this.sent.inc(labels);
          handled(err == null ? grpc.status.OK : err.code ?? grpc.status.UNKNOWN);
          cb(err as grpc.ServerErrorResponse | null, res);
        });
        return;
      }
      const c = call as AnyCall;
      if (labels.grpc_type === 'server_stream') this.received.inc(labels);
      const write = c.write!.bind(c);
      c.write = (...args: unknown[]) => {
        this.sent.inc(labels, messagesIn(args[0]));
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
      if (labels.grpc_type !== 'server_stream') c.on('data', () => this.received.inc(labels));
    };
  }
}
