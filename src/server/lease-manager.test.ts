import assert from 'node:assert/strict';
import type { InternalRequest } from '../generated/keelpb/InternalRequest';
import { Lessor } from '../lease/lessor';
import { silentLogger } from '../util/logger';
import { LeaseManager } from './lease-manager';
import { ServerError } from './errors';

const LEASE = 7n;

/**
 * The leader's LeaseManager with a real lessor on a clock the test moves, and a log whose
 * proposals the test applies by hand: a revocation can be held on its way, as it is while Raft
 * commits it.
 */
function leader() {
  let now = 1_000_000;
  const lessor = new Lessor({ nowMs: () => now }, 1);
  lessor.promote(0);
  lessor.grant(LEASE, 2);
  const proposed: Array<{ req: InternalRequest; apply(): void; fail(err: Error): void }> = [];
  const manager = new LeaseManager(lessor, {
    memberId: 1n, leader: () => 1n, transport: () => { throw new Error('no peers'); }, nextLeaseId: () => 8n, log: silentLogger,
    confirmLeadership: () => Promise.resolve(),
    appliedCommitted: () => Promise.resolve(),
    requestTimeoutMs: 200,
    propose: <T>(req: InternalRequest) => new Promise<{ response: T }>((resolve, reject) => {
      proposed.push({
        req,
        apply: () => {
          lessor.revoke(BigInt(String(req.lease_revoke!.ID)));
          resolve({ response: {} as T });
        },
        fail: reject,
      });
    }),
  });
  return { lessor, manager, proposed, advance: (ms: number) => (now += ms) };
}

describe('LeaseManager', () => {
  let current: ReturnType<typeof leader> | undefined;
  const start = () => (current = leader());
  afterEach(() => current?.manager.stop());

  it('renews a lease whose time is not up', async () => {
    const { manager, advance } = start();
    advance(1500);
    assert.equal(await manager.keepAlive(LEASE), 2);
  });

  it('does not renew an expired lease whose revocation is on its way: the keep-alive waits and finds it gone', async () => {
    const { lessor, manager, proposed, advance } = start();
    advance(2001);
    const keepAlive = manager.keepAlive(LEASE);
    await new Promise((r) => setImmediate(r));
    // One revocation proposed, and the keep-alive has not answered before it is applied.
    assert.deepEqual(proposed.map((p) => p.req.lease_revoke?.ID), ['7']);
    let answered = false;
    void keepAlive.then(() => (answered = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(answered, false);
    proposed[0]!.apply();
    assert.equal(await keepAlive, 0);
    assert.equal(lessor.lookup(LEASE), undefined);
  });

  it('sends the keep-alive elsewhere when the revocation fails because leadership moved', async () => {
    const { lessor, manager, proposed, advance } = start();
    advance(2001);
    const keepAlive = manager.keepAlive(LEASE);
    await new Promise((r) => setImmediate(r));
    lessor.demote();
    proposed[0]!.fail(new ServerError('no-leader'));
    await assert.rejects(keepAlive, (err: unknown) => err instanceof ServerError && err.reason === 'no-leader');
  });
});
