import * as grpc from '@grpc/grpc-js';
import type { ResponseHeader } from '../generated/etcdserverpb/ResponseHeader';
import { ServerError } from '../server/errors';
import { KeelServer } from '../server/keel-server';
import { InvariantError } from '../util/invariant';
import { Logger } from '../util/logger';
import { toServiceError } from './grpc-errors';

/**
 * Adapts an async handler to grpc-js: the answer goes to the callback, an expected failure becomes
 * etcd's status, and a broken invariant is rethrown outside the promise so the process exits.
 */
export function unary<Req, Res>(log: Logger, handle: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    handle(call.request).then(
      (res) => callback(null, res),
      (err: unknown) => {
        if (err instanceof InvariantError) {
          process.nextTick(() => {
            throw err;
          });
          return;
        }
        const failure = toServiceError(err);
        // etcd answers a few of its own refusals with code Unknown too (a no-password login).
        if (failure.code === grpc.status.UNKNOWN && !(err instanceof ServerError)) log.error('request failed unexpectedly', { error: String(err) });
        callback(failure);
      },
    );
  };
}

/**
 * `unary` for the calls a learner refuses, as etcd's learner interceptor refuses every unary call but
 * Status and a serializable Range: `votersOnly(server, log)(handle)`.
 */
export function votersOnly(server: KeelServer, log: Logger) {
  return <Req, Res>(handle: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> => unary(log, async (req: Req) => {
    server.ensureServes(true);
    return handle(req);
  });
}

/** Completes a response header: who answered, in which term, and the revision if the core left none. */
export function withHeader<Res extends { header?: ResponseHeader | null }>(server: KeelServer, res: Res): Res {
  const revision = Number(res.header?.revision ?? 0);
  res.header = { ...server.header(), revision: revision > 0 ? revision : server.currentRevision };
  return res;
}

/** A header without a revision, as etcd's Cluster service answers. */
export function withMemberHeader<Res extends { header?: ResponseHeader | null }>(server: KeelServer, res: Res): Res {
  res.header = server.header();
  return res;
}
