import type { LeaseHandlers } from '../generated/etcdserverpb/Lease';
import type { LeaseKeepAliveRequest__Output } from '../generated/etcdserverpb/LeaseKeepAliveRequest';
import type { LeaseKeepAliveResponse } from '../generated/etcdserverpb/LeaseKeepAliveResponse';
import type { LeaseLeasesResponse } from '../generated/etcdserverpb/LeaseLeasesResponse';
import type { LeaseTimeToLiveResponse } from '../generated/etcdserverpb/LeaseTimeToLiveResponse';
import { LeaseTtlTooLargeError } from '../lease/errors';
import { MAX_LEASE_TTL_SECONDS } from '../lease/lessor';
import { KeelServer } from '../server/keel-server';
import { InvariantError } from '../util/invariant';
import { Logger } from '../util/logger';
import { toGrpcFailure } from './grpc-errors';
import { votersOnly, withHeader } from './handler';

/**
 * etcdserverpb.Lease: grant and revoke through the log; keep-alive and time-to-live by the leader.
 * A learner serves none of it, as etcd's learner interceptor refuses it.
 */
export function leaseService(server: KeelServer, log: Logger): LeaseHandlers {
  const leases = server.leases;
  const voting = votersOnly(server, log);
  return {
    LeaseGrant: voting(async (req) => {
      if (Number(req.TTL) > MAX_LEASE_TTL_SECONDS) throw new LeaseTtlTooLargeError();
      return withHeader(server, await leases.grant(req));
    }),
    LeaseRevoke: voting(async (req) => withHeader(server, await leases.revoke(req.ID))),
    LeaseTimeToLive: voting(async (req) => {
      const t = await leases.timeToLive(BigInt(req.ID), req.keys);
      return withHeader<LeaseTimeToLiveResponse>(server, { ID: req.ID, TTL: t.ttl, grantedTTL: t.grantedTtl, keys: t.keys });
    }),
    LeaseLeases: voting(async () => withHeader<LeaseLeasesResponse>(server, {
      leases: leases.lessor.list().map((l) => ({ ID: l.id.toString() })),
    })),
    LeaseKeepAlive: (call) => {
      // Keep-alives are answered in order; a failure (no leader) ends the stream with its status.
      let chain = Promise.resolve();
      call.on('data', (req: LeaseKeepAliveRequest__Output) => {
        chain = chain.then(async () => {
          server.ensureServes(true);
          // As etcd: the header is taken before the renewal, so the revision it names is never
          // later than the renewal (a lease revoked at revision 3 must not look renewed at 4).
          const res = withHeader<LeaseKeepAliveResponse>(server, { ID: req.ID });
          res.TTL = await leases.keepAlive(BigInt(req.ID));
          call.write(res);
        }).catch((err: unknown) => {
          if (err instanceof InvariantError) throw err;
          const f = toGrpcFailure(err);
          call.emit('error', { code: f.code, details: f.details });
        });
      });
      call.on('end', () => void chain.then(() => call.end()));
      call.on('error', () => { /* the client went away */ });
    },
  };
}
