import * as grpc from '@grpc/grpc-js';
import type { PeerClient } from '../generated/keelpb/Peer';
import type { LeaseForwardRequest, LeaseForwardRequest__Output } from '../generated/keelpb/LeaseForwardRequest';
import type { LeaseForwardResponse, LeaseForwardResponse__Output } from '../generated/keelpb/LeaseForwardResponse';
import type { LeaseForwardResult } from '../generated/keelpb/LeaseForwardResult';
import type { LeaseForward, LeaseForwardReply } from './transport';

/** How long a question to the leader (a lease's, a learner's) may wait for its answer. */
export const LEASE_FORWARD_TIMEOUT_MS = 2000;

interface Waiting {
  req: LeaseForward;
  resolve(reply: LeaseForwardReply): void;
  reject(err: Error): void;
}

/**
 * A follower's lease questions to one leader, gathered per turn of the event loop: the questions
 * asked in one turn go in one LeaseForwardBatch call, a lone one as LeaseForward. Under 128
 * keep-alive clients over three members, a unary call per forwarded renewal held the cluster at
 * 19,000 renewals/s where the same clients all on the leader made 82,000.
 *
 * A leader of an older build, which does not know the batch, is asked one question per call from
 * then on.
 */
export class LeaseForwarder {
  private waiting: Waiting[] = [];
  private batchUnknown = false;

  constructor(private readonly client: PeerClient, private readonly metadata: grpc.Metadata) {}

  ask(req: LeaseForward): Promise<LeaseForwardReply> {
    return new Promise((resolve, reject) => {
      if (this.waiting.push({ req, resolve, reject }) === 1) setImmediate(() => this.send());
    });
  }

  private send(): void {
    const asked = this.waiting;
    this.waiting = [];
    if (asked.length === 1 || this.batchUnknown) {
      for (const w of asked) this.askAlone(w);
      return;
    }
    // grpc-js throws if the client was closed since (the peer removed or moved): in this
    // setImmediate that would be uncaught, and nobody would answer the questions.
    try {
      this.askTogether(asked);
    } catch (err) {
      for (const w of asked) w.reject(err as Error);
    }
  }

  private askTogether(asked: Waiting[]): void {
    this.client.LeaseForwardBatch({ requests: asked.map((w) => toRequest(w.req)) }, this.metadata, { deadline: deadline() }, (err, res) => {
      if (err?.code === grpc.status.UNIMPLEMENTED) {
        this.batchUnknown = true;
        for (const w of asked) this.askAlone(w);
        return;
      }
      if (err || !res || res.results.length !== asked.length) {
        const failure = err ?? new Error(`the leader answered ${res?.results.length ?? 0} of ${asked.length} lease questions`);
        for (const w of asked) w.reject(failure);
        return;
      }
      asked.forEach((w, i) => {
        const r = res.results[i]!;
        if (r.error !== '' || !r.response) w.reject(new Error(r.error || 'no answer'));
        else w.resolve(toReply(r.response));
      });
    });
  }

  private askAlone(w: Waiting): void {
    try {
      this.client.LeaseForward(toRequest(w.req), this.metadata, { deadline: deadline() }, (err, res) => {
        if (err || !res) w.reject(err ?? new Error('no answer'));
        else w.resolve(toReply(res));
      });
    } catch (err) {
      w.reject(err as Error); // the client was closed (see send)
    }
  }
}

/** The leader's side of a batch: each question answered, a failure in its own result. */
export async function answerBatch(requests: LeaseForward[], answer: (req: LeaseForward) => Promise<LeaseForwardReply>): Promise<LeaseForwardResult[]> {
  return Promise.all(requests.map((req) => answer(req).then(
    (reply): LeaseForwardResult => ({ response: toResponse(reply), error: '' }),
    (err: Error): LeaseForwardResult => ({ error: err.message }),
  )));
}

function deadline(): number {
  return Date.now() + LEASE_FORWARD_TIMEOUT_MS;
}

export function fromRequest(r: LeaseForwardRequest__Output): LeaseForward {
  return { renew: r.renew, id: BigInt(r.id), keys: r.keys };
}

function toRequest(req: LeaseForward): LeaseForwardRequest {
  return { renew: req.renew, id: req.id.toString(), keys: req.keys };
}

export function toResponse(reply: LeaseForwardReply): LeaseForwardResponse {
  return { found: reply.found, ttl: reply.ttl, granted_ttl: reply.grantedTtl, keys: reply.keys };
}

function toReply(res: LeaseForwardResponse__Output): LeaseForwardReply {
  return { found: res.found, ttl: Number(res.ttl), grantedTtl: Number(res.granted_ttl), keys: res.keys };
}
