import type { Operation } from './history';

/**
 * A sequential specification of one key, for the linearizability checker: what each operation
 * does to the key's state, and whether the output it reported is possible from that state.
 */
export interface Model<S> {
  readonly name: string;
  readonly init: S;
  /**
   * The state after `op`, or undefined if the output `op` reported cannot come from `state`.
   * An op without output (unknown outcome) reports nothing, so it always applies.
   */
  step(state: S, op: Operation): S | undefined;
  /**
   * The values `op` writes and, if it completed ok, the values it saw. Workloads write unique
   * values, so a value seen pins down the write that made it: that write happened first.
   */
  writes(op: Operation): string[];
  observes(op: Operation): string[];
  /** Every value whose identity `op`'s behaviour depends on or reports, whatever its outcome. */
  mentions(op: Operation): string[];
  /**
   * Ops of one class have the same effect in every state, so the checker may use any of them.
   * `anonymous(v)`: no op mentions v, so which such value a state holds makes no difference.
   */
  behaviour(op: Operation, anonymous: (v: string) => boolean): string;
  /** Equal states give equal keys (values no op mentions all look alike): the checker memoizes on it. */
  key(state: S, anonymous: (v: string) => boolean): string;
  describe(state: S): string;
}

/** Keys whose history is an append-only list; every other key is a register. */
export const LIST_PREFIX = 'list/';

export function modelFor(key: string): Model<unknown> {
  return (key.startsWith(LIST_PREFIX) ? listModel : registerModel) as Model<unknown>;
}

/** A register per key: get, put, delete, and compare-and-set through a Txn. null is "absent". */
export const registerModel: Model<string | null> = {
  name: 'register',
  init: null,
  step(state, op) {
    switch (op.kind) {
      case 'get':
        return op.output === undefined || op.output.value === state ? state : undefined;
      case 'put':
        return op.input.value;
      case 'delete':
        if (op.output !== undefined && op.output.deleted !== (state === null ? 0 : 1)) return undefined;
        return null;
      case 'cas': {
        const applies = op.input.expect === state;
        if (op.output !== undefined && op.output.succeeded !== applies) return undefined;
        return applies ? op.input.value : state;
      }
      default:
        throw new Error(`a register has no '${op.kind}' operation (op ${op.id} on ${op.key})`);
    }
  },
  writes: (op) => (op.kind === 'put' || op.kind === 'cas' ? [op.input.value] : []),
  observes(op) {
    if (op.outcome !== 'ok') return [];
    if (op.kind === 'get' && op.output?.value != null) return [op.output.value];
    if (op.kind === 'cas' && op.output?.succeeded && op.input.expect !== null) return [op.input.expect];
    return [];
  },
  mentions(op) {
    if (op.kind === 'get' && op.output?.value != null) return [op.output.value];
    if (op.kind === 'cas' && op.input.expect !== null) return [op.input.expect];
    return [];
  },
  behaviour(op, anonymous) {
    if (op.kind === 'delete') return 'delete';
    if (op.kind === 'put' && anonymous(op.input.value)) return 'put ?';
    if (op.kind === 'cas' && anonymous(op.input.value)) return `cas ${JSON.stringify(op.input.expect)} ?`;
    return `op ${op.id}`;
  },
  key: (state, anonymous) => (state === null ? '\u0000' : anonymous(state) ? '?' : `=${state}`),
  describe: (state) => (state === null ? 'absent' : JSON.stringify(state)),
};

/**
 * An append-only list per key, stored as its items joined by ','. A get returns the whole list,
 * so every read pins down the order of all appends before it.
 */
export const listModel: Model<readonly string[]> = {
  name: 'list',
  init: [],
  step(state, op) {
    switch (op.kind) {
      case 'get':
        return op.output === undefined || joined(state) === op.output.value ? state : undefined;
      case 'append': {
        const applies = op.input.basis === joined(state);
        if (op.output !== undefined && op.output.succeeded !== applies) return undefined;
        return applies ? [...state, op.input.item] : state;
      }
      default:
        throw new Error(`a list has no '${op.kind}' operation (op ${op.id} on ${op.key})`);
    }
  },
  writes: (op) => (op.kind === 'append' ? [op.input.item] : []),
  observes(op) {
    if (op.outcome !== 'ok') return [];
    if (op.kind === 'get' && op.output?.value != null) return op.output.value.split(',');
    if (op.kind === 'append' && op.output?.succeeded && op.input.basis !== null) return op.input.basis.split(',');
    return [];
  },
  mentions(op) {
    if (op.kind === 'get' && op.output?.value != null) return op.output.value.split(',');
    if (op.kind === 'append' && op.input.basis !== null) return op.input.basis.split(',');
    return [];
  },
  behaviour: (op, anonymous) => (op.kind === 'append' && anonymous(op.input.item) ? `append ${JSON.stringify(op.input.basis)} ?` : `op ${op.id}`),
  key: (state, anonymous) => state.map((item) => (anonymous(item) ? '?' : `=${item}`)).join(','),
  describe: (state) => `[${state.join(', ')}]`,
};

/** The stored value of a list: null while nothing was appended. */
function joined(items: readonly string[]): string | null {
  return items.length === 0 ? null : items.join(',');
}
