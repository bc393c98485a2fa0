import type { ServiceError } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';

/** etcdctl's exit codes (etcdctl/ctlv3/command/error.go); scripts act on them. */
export const ExitCode = {
  Success: 0,
  Error: 1,
  BadConnection: 2,
  InvalidInput: 3, // txn and watch input
  BadFeature: 4, // a valid flag with an unsupported value
  Interrupted: 5,
  IO: 6,
  BadArgs: 128,
} as const;

/**
 * A failure that ends the command with etcdctl's `Error: <message>` line and exit code; an empty
 * message exits without a line (the command has already said what failed).
 */
export class CtlError extends Error {
  override name = 'CtlError';
  constructor(readonly exitCode: number, message: string) {
    super(message);
  }
}

/**
 * The text Go's clientv3 gives a gRPC failure: the server's message for etcd's own errors (they all
 * start with "etcdserver: "), "context deadline exceeded" for a deadline, and grpc-go's
 * `rpc error: code = X desc = Y` for anything else.
 */
export function errorText(err: unknown): string {
  const e = err as Partial<ServiceError>;
  if (typeof e.code !== 'number') return (err as Error).message;
  if (e.code === status.DEADLINE_EXCEEDED && !String(e.details).startsWith('etcdserver:')) return 'context deadline exceeded';
  if (e.code === status.CANCELLED) return 'context canceled';
  const details = e.details ?? '';
  if (details.startsWith('etcdserver: ')) return details;
  return `rpc error: code = ${goCodeName(e.code)} desc = ${details}`;
}

/** grpc-go's names for status codes: CamelCase of the enum (NOT_FOUND → NotFound). */
function goCodeName(code: number): string {
  const name = status[code] ?? String(code);
  if (name === 'OK') return 'OK';
  return name.toLowerCase().split('_').map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('');
}
