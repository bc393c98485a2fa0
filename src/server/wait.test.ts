import assert from 'node:assert/strict';
import { Wait } from './wait';

/** Settles to the waiter's result, or 'pending' if it has none yet. */
async function state<T>(p: Promise<T>): Promise<T | 'pending'> {
  return Promise.race([p, new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending')))]);
}

describe('Wait (proposers waiting for their entry)', () => {
  it('hands each waiter the result of its own entry, and drops results nobody waits for', async () => {
    const wait = new Wait<string>(1000);
    const a = wait.register('a', 0);
    const b = wait.register('b', 0);
    wait.trigger('b', 'applied b');
    wait.trigger('elsewhere', 'dropped');
    assert.equal(await b, 'applied b');
    assert.equal(await state(a), 'pending');
    assert.equal(wait.size, 1);
  });

  it('times out exactly the waiters whose deadline has passed, oldest first', async () => {
    const wait = new Wait<string>(1000);
    const early = wait.register('early', 0);
    const late = wait.register('late', 500);
    let made = 0;
    const timedOut = () => `timeout ${++made}`;

    wait.expire(999, timedOut);
    assert.equal(await state(early), 'pending');
    assert.equal(made, 0);

    wait.expire(1000, timedOut);
    assert.equal(await early, 'timeout 1');
    assert.equal(await state(late), 'pending');

    // A result arriving after the timeout finds nobody; the late waiter still gets its own.
    wait.trigger('early', 'applied early');
    wait.trigger('late', 'applied late');
    assert.equal(await late, 'applied late');
    wait.expire(10_000, timedOut);
    assert.equal(made, 1);
    assert.equal(wait.size, 0);
  });

  it('settles every waiter at once when the server stops', async () => {
    const wait = new Wait<string>(1000);
    const all = [wait.register('a', 0), wait.register('b', 0)];
    wait.triggerAll('stopped');
    assert.deepEqual(await Promise.all(all), ['stopped', 'stopped']);
    assert.equal(wait.size, 0);
  });
});
