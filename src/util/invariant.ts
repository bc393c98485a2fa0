/**
 * A broken invariant is a bug: it throws, nothing catches it, and the process exits
 * (DESIGN.md §6, kind 1). Never use it for bad input or IO failures.
 */
export class InvariantError extends Error {
  override name = 'InvariantError';
}

export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}
