import { SeededRand } from '../../src/util/rand';
import { KV_KINDS, Operation } from './history';
import { Model, modelFor as defaultModelFor } from './kv-models';

/**
 * Linearizability of a KV history, after Wing & Gong as Porcupine does it (Athalye, 2017):
 *
 * - P-compositionality: a history is linearizable iff the sub-history of each key is, so each key
 *   is checked on its own (the search is exponential in the concurrency of what it searches).
 * - Operations become call and return entries in one doubly linked list sorted by time. The search
 *   walks it: at a call it tries to linearize that operation now (step the model, take both entries
 *   out of the list, start again from the head); at a return it has met an operation that had to be
 *   linearized already, so it backtracks, putting the last one back and trying the next candidate.
 * - Memoization of (set of linearized operations, model state): a configuration reached once and
 *   found to lead nowhere is not searched again.
 * - An operation without an answer (outcome unknown) returns at +infinity: it stays a candidate to
 *   the end, so the search may apply it anywhere after its call, or last, which is as if it never
 *   happened. Failed operations had no effect and are left out, as are unknown reads.
 *
 * The search is bounded: a key that needs more than `maxSteps` is reported as 'timeout', never as ok.
 */

export interface LinearizabilityOptions {
  /** Search steps allowed per key before giving up on it. */
  maxSteps?: number;
  /** Model of each key; registers, and lists under 'list/', by default. */
  modelFor?: (key: string) => Model<unknown>;
}

export type KeyResult =
  | { key: string; verdict: 'ok'; ops: number; steps: number }
  /**
   * No linearization exists. `prefix` is a longest linearizable prefix found (in linearization
   * order), `state` the model's state after it, and `unplaced` the operations that were due next,
   * none of which can follow that prefix.
   */
  | { key: string; verdict: 'illegal'; ops: number; steps: number; prefix: Operation[]; state: string; unplaced: Operation[] }
  | { key: string; verdict: 'timeout'; ops: number; steps: number };

export interface LinearizabilityResult {
  /** illegal if any key is; else timeout if any key is; else ok. */
  verdict: 'ok' | 'illegal' | 'timeout';
  keys: KeyResult[];
}

export const DEFAULT_MAX_STEPS = 10_000_000;

export function checkLinearizability(ops: readonly Operation[], opts: LinearizabilityOptions = {}): LinearizabilityResult {
  const byKey = new Map<string, Operation[]>();
  for (const op of ops) {
    if (!KV_KINDS.has(op.kind) || op.outcome === 'failed' || (op.outcome === 'unknown' && op.kind === 'get')) continue;
    let list = byKey.get(op.key);
    if (!list) byKey.set(op.key, (list = []));
    list.push(op);
  }
  const modelFor = opts.modelFor ?? defaultModelFor;
  const keys = [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, keyOps]) => checkKey(key, keyOps, modelFor(key), opts.maxSteps ?? DEFAULT_MAX_STEPS));
  const verdict = keys.some((k) => k.verdict === 'illegal') ? 'illegal'
    : keys.some((k) => k.verdict === 'timeout') ? 'timeout' : 'ok';
  return { verdict, keys };
}

/** One entry of the call/return list. A call's `match` is its return; a return has none. */
interface Entry {
  /** Index of the operation in the key's list; -1 for the head sentinel. */
  index: number;
  time: number;
  match: Entry | undefined;
  prev: Entry | undefined;
  next: Entry | undefined;
}

function checkKey(key: string, ops: readonly Operation[], model: Model<unknown>, maxSteps: number): KeyResult {
  const returns = returnTimes(ops, model);
  /** Unknown ops nothing observed: the search may leave them for the very end. */
  const optional = returns.map((t) => t === Infinity);
  const mentioned = new Set(ops.flatMap((op) => model.mentions(op)));
  const anonymous = (v: string) => !mentioned.has(v);
  const classes = new OptionalClasses(ops, optional, (op) => model.behaviour(op, anonymous));
  const head = buildEntries(ops, returns);
  const linearized = new LinearizedSet(ops.length);
  const seen = new Seen();
  const calls: Array<{ entry: Entry; state: unknown }> = [];
  let requiredLeft = optional.filter((o) => !o).length;
  let state = model.init;
  let best: { prefix: Operation[]; state: unknown; unplaced: Operation[] } | undefined;
  let steps = 0;
  let entry = head.next;
  // Candidates are the calls before the first return. Phase 1 tries the required ones, phase 2
  // the optional ones: placing an optional op early is only worth it when nothing else works.
  let phase: 1 | 2 = 1;
  while (requiredLeft > 0) {
    if (++steps > maxSteps) return { key, verdict: 'timeout', ops: ops.length, steps };
    const e = entry!;
    if (e.match === undefined) {
      if (phase === 1) {
        phase = 2;
        entry = head.next;
        continue;
      }
      // A return, every candidate tried: this op should have been linearized already. Backtrack.
      if (best === undefined || calls.length > best.prefix.length) {
        best = { prefix: calls.map((c) => ops[c.entry.index]!), state, unplaced: callsBefore(head, e).map((i) => ops[i]!) };
      }
      const last = calls.pop();
      if (last === undefined) {
        return { key, verdict: 'illegal', ops: ops.length, steps, prefix: best.prefix, state: model.describe(best.state), unplaced: best.unplaced };
      }
      state = last.state;
      linearized.remove(last.entry.index, optional[last.entry.index]!);
      if (optional[last.entry.index]) classes.release(last.entry.index);
      else requiredLeft++;
      unlift(last.entry);
      phase = optional[last.entry.index] ? 2 : 1;
      entry = last.entry.next;
      continue;
    }
    const isOptional = optional[e.index]!;
    if (isOptional === (phase === 2) && (!isOptional || classes.isNext(e.index))) {
      const next = model.step(state, ops[e.index]!);
      if (next !== undefined) {
        linearized.add(e.index, isOptional);
        if (seen.visit(linearized, model.key(next, anonymous))) {
          calls.push({ entry: e, state });
          state = next;
          if (isOptional) classes.use(e.index);
          else requiredLeft--;
          lift(e);
          entry = head.next;
          phase = 1;
          continue;
        }
        linearized.remove(e.index, isOptional);
      }
    }
    entry = e.next;
  }
  // What is left is optional: it can all go last, as if it never happened.
  return { key, verdict: 'ok', ops: ops.length, steps };
}

/**
 * When each operation returned. An unknown one returns at +infinity, unless an operation that
 * completed saw a value it alone wrote: then it happened before that operation completed.
 */
function returnTimes(ops: readonly Operation[], model: Model<unknown>): number[] {
  const writers = new Map<string, number>();
  for (const op of ops) for (const v of model.writes(op)) writers.set(v, (writers.get(v) ?? 0) + 1);
  const seenBy = new Map<string, number>();
  for (const op of ops) {
    for (const v of model.observes(op)) seenBy.set(v, Math.min(seenBy.get(v) ?? Infinity, op.completeMs));
  }
  return ops.map((op) => {
    if (op.outcome !== 'unknown') return op.completeMs;
    // Only a value written once identifies its writer.
    const bounds = model.writes(op).filter((v) => writers.get(v) === 1).map((v) => seenBy.get(v) ?? Infinity);
    // A value seen before it was written makes the history illegal; the search finds that out.
    return Math.max(op.invokeMs, Math.min(Infinity, ...bounds));
  });
}

/**
 * The sorted call/return list behind a head sentinel. Calls sort before returns at the same time:
 * operations that merely touch count as concurrent, which never rejects a correct history.
 */
function buildEntries(ops: readonly Operation[], returns: readonly number[]): Entry {
  const items: Array<{ time: number; isCall: boolean; entry: Entry }> = [];
  ops.forEach((op, index) => {
    const ret: Entry = { index, time: returns[index]!, match: undefined, prev: undefined, next: undefined };
    const call: Entry = { index, time: op.invokeMs, match: ret, prev: undefined, next: undefined };
    if (!(ret.time >= call.time)) throw new Error(`op ${op.id} on ${op.key} completes (${op.completeMs}) before it is invoked (${op.invokeMs})`);
    items.push({ time: call.time, isCall: true, entry: call }, { time: ret.time, isCall: false, entry: ret });
  });
  items.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1));
  const head: Entry = { index: -1, time: -Infinity, match: undefined, prev: undefined, next: undefined };
  let last = head;
  for (const { entry } of items) {
    last.next = entry;
    entry.prev = last;
    last = entry;
  }
  return head;
}

/** Takes a call and its return out of the list (the call is never last: its return follows it). */
function lift(call: Entry): void {
  call.prev!.next = call.next;
  call.next!.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

/** Puts back what lift() took out, in reverse order, so the links are as before. */
function unlift(call: Entry): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next) ret.next.prev = ret;
  call.prev!.next = call;
  call.next!.prev = call;
}

/** The operations whose calls are still in the list before `stop`: the candidates at a dead end. */
function callsBefore(head: Entry, stop: Entry): number[] {
  const out: number[] = [];
  // The call of `stop` itself is among them: a call precedes its return.
  for (let e = head.next; e !== undefined && e !== stop; e = e.next) if (e.match !== undefined) out.push(e.index);
  return out;
}

/**
 * Optional ops grouped by behaviour. Within a class any op will do, so the search uses them in
 * the order they were invoked (the earliest unused is always available when a later one is): the
 * used ones are a prefix of the class, and the search never tries their permutations.
 */
class OptionalClasses {
  private readonly classOf: number[] = [];
  private readonly rank: number[] = [];
  private readonly used: number[] = [];

  constructor(ops: readonly Operation[], optional: readonly boolean[], behaviour: (op: Operation) => string) {
    const ids = new Map<string, number>();
    const size: number[] = [];
    const order = ops.map((_, i) => i).filter((i) => optional[i]).sort((a, b) => ops[a]!.invokeMs - ops[b]!.invokeMs);
    for (const i of order) {
      const b = behaviour(ops[i]!);
      let c = ids.get(b);
      if (c === undefined) {
        ids.set(b, (c = size.length));
        size.push(0);
        this.used.push(0);
      }
      this.classOf[i] = c;
      this.rank[i] = size[c]!++;
    }
  }

  /** Whether optional op i is the earliest unused of its class. */
  isNext(i: number): boolean {
    return this.rank[i] === this.used[this.classOf[i]!];
  }

  use(i: number): void {
    this.used[this.classOf[i]!]!++;
  }

  release(i: number): void {
    this.used[this.classOf[i]!]!--;
  }
}

/**
 * Configurations already searched. A configuration is subsumed by one with the same required ops
 * linearized, the same state and a subset of its optional ops: whatever the larger one can still
 * do, the smaller can too, with the extra optional ops placed last.
 */
class Seen {
  private readonly buckets = new Map<string, Array<{ required: Uint32Array; optional: Uint32Array }>>();

  /** False if `set` in `stateKey` is subsumed by a configuration seen before; else records it. */
  visit(set: LinearizedSet, stateKey: string): boolean {
    const key = `${set.hash()}|${stateKey}`;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) this.buckets.set(key, (bucket = []));
    const subsumed = bucket.some((c) => equal(c.required, set.required) && subset(c.optional, set.optional));
    if (!subsumed) bucket.push({ required: set.required.slice(), optional: set.optional.slice() });
    return !subsumed;
  }
}

const equal = (a: Uint32Array, b: Uint32Array) => a.every((w, i) => w === b[i]);
const subset = (a: Uint32Array, b: Uint32Array) => a.every((w, i) => (w & ~b[i]!) === 0);

/**
 * The linearized operations: required and optional ones in two bitsets, with a Zobrist hash of
 * the required ones kept as they change (64 bits, in two halves).
 */
class LinearizedSet {
  readonly required: Uint32Array;
  readonly optional: Uint32Array;
  private readonly z1: Uint32Array;
  private readonly z2: Uint32Array;
  private h1 = 0;
  private h2 = 0;

  constructor(n: number) {
    this.required = new Uint32Array(Math.ceil(n / 32));
    this.optional = new Uint32Array(Math.ceil(n / 32));
    const rand = new SeededRand(0x6b65656c);
    const word = () => (rand.next() * 0x1_0000_0000) >>> 0;
    this.z1 = Uint32Array.from({ length: n }, word);
    this.z2 = Uint32Array.from({ length: n }, word);
  }

  add(i: number, optional: boolean): void {
    (optional ? this.optional : this.required)[i >>> 5]! |= 1 << (i & 31);
    if (!optional) this.flip(i);
  }

  remove(i: number, optional: boolean): void {
    (optional ? this.optional : this.required)[i >>> 5]! &= ~(1 << (i & 31));
    if (!optional) this.flip(i);
  }

  hash(): string {
    return `${this.h1.toString(36)}.${this.h2.toString(36)}`;
  }

  private flip(i: number): void {
    this.h1 = (this.h1 ^ this.z1[i]!) >>> 0;
    this.h2 = (this.h2 ^ this.z2[i]!) >>> 0;
  }
}
