/**
 * A broken invariant is a bug: it throws, nothing catches it, and the process exits
 * (DESIGN.md §6, kind 1). Never use it for bad input or IO failures.
 */
export class InvariantError extends Error {
  override name = 'InvariantError';
}

/** A message built only when the check fails, for checks on hot paths (a put, an applied entry). */
export function invariant(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantError(typeof message === 'string' ? message : message());
}
