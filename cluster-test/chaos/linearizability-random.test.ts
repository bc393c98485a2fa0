import assert from 'node:assert/strict';
import { SeededRand } from '../../src/util/rand';
import type { Operation } from './history';
import { HistoryBuilder } from './history-builder';
import { checkLinearizability } from './linearizability';

/**
 * Randomized histories: a register is driven sequentially through its model, each operation gets
 * a linearization point, and its interval is widened around that point by random amounts. The
 * result overlaps heavily yet is linearizable by construction; corrupting one read must make it not.
 */

const none = {} as Record<string, never>;
const KEY = 'r';

/** `n` operations with linearization points 10 ms apart and intervals up to ±`jitter` around them. */
function linearizableHistory(seed: number, n: number, jitter: number): Operation[] {
  const rand = new SeededRand(seed);
  const h = new HistoryBuilder();
  const written: string[] = [];
  let state: string | null = null;
  for (let i = 0; i < n; i++) {
    const at = i * 10;
    const invoke = at - rand.intn(jitter);
    const complete = at + rand.intn(jitter);
    const value = `v${i}`;
    const dice = rand.intn(100);
    if (dice < 40) {
      h.ok('get', KEY, none, { value: state, modRevision: 0 }, invoke, complete);
    } else if (dice < 65) {
      h.ok('put', KEY, { value }, none, invoke, complete);
      state = value;
    } else if (dice < 88) {
      // Half the time from the current value, else from some older one (then it fails).
      const expect = rand.intn(2) === 0 || written.length === 0 ? state : written[rand.intn(written.length)]!;
      const succeeded = expect === state;
      h.ok('cas', KEY, { expect, value }, { succeeded }, invoke, complete);
      if (succeeded) state = value;
    } else if (dice < 98) {
      h.ok('delete', KEY, none, { deleted: state === null ? 0 : 1 }, invoke, complete);
      state = null;
    } else if (dice < 99) {
      // Applied at its point, but the client never heard back.
      h.unknown('put', KEY, { value }, invoke, complete);
      state = value;
    } else {
      // Never applied: nobody can have seen its value.
      h.unknown('put', KEY, { value: `lost-${i}` }, invoke, complete);
    }
    if (state !== null && !written.includes(state)) written.push(state);
  }
  return h.ops;
}

type Get = Operation & { kind: 'get' };
const isOkGet = (op: Operation): op is Get => op.kind === 'get' && op.outcome === 'ok';
const isOkPut = (op: Operation): op is Operation & { kind: 'put' } => op.kind === 'put' && op.outcome === 'ok';

/** A copy of `ops` in which read `index` returns `value`. */
function withRead(ops: Operation[], read: Get, value: string | null): Operation[] {
  return ops.map((op) => (op === read ? { ...read, output: { value, modRevision: 0 } } : op));
}

/**
 * Makes a read in the second half stale: it returns the value of a put that a later put, complete
 * before the read began, had overwritten. Values are unique, so nothing can have restored it.
 */
function staleRead(ops: Operation[], rand: SeededRand): Operation[] {
  const puts = ops.filter(isOkPut);
  const reads = ops.filter(isOkGet).slice(ops.length / 4);
  for (;;) {
    const read = reads[rand.intn(reads.length)]!;
    const p2 = puts.filter((p) => p.completeMs < read.invokeMs).at(-1);
    const p1 = p2 && puts.filter((p) => p.completeMs < p2.invokeMs).at(-1);
    if (p1 && p1.input.value !== read.output!.value) return withRead(ops, read, p1.input.value);
  }
}

describe('linearizability checker: randomized register histories', function () {
  this.timeout(60_000);
  const seeds = [1, 2, 3, 4, 5];

  for (const seed of seeds) {
    it(`seed ${seed}: accepts 1000 overlapping operations, then rejects a stale read and a read of a value never written`, () => {
      // About eight operations overlap each one; one in fifty has no answer (half of those applied).
      const ops = linearizableHistory(seed, 1000, 40);
      const started = Date.now();
      const ok = checkLinearizability(ops);
      assert.equal(ok.verdict, 'ok', `seed ${seed}: ${JSON.stringify(ok.keys[0])}`);
      const tookMs = Date.now() - started;
      assert.ok(tookMs < 10_000, `seed ${seed}: checking 1000 operations took ${tookMs} ms`);

      const rand = new SeededRand(seed * 7919);
      const stale = checkLinearizability(staleRead(ops, rand));
      assert.equal(stale.verdict, 'illegal', `seed ${seed}: a stale read was accepted`);

      const reads = ops.filter(isOkGet);
      const never = checkLinearizability(withRead(ops, reads[rand.intn(reads.length)]!, 'never-written'));
      assert.equal(never.verdict, 'illegal', `seed ${seed}: a read of a value never written was accepted`);
    });
  }
});
