import { isDeepStrictEqual } from 'node:util';

/**
 * Whether two values would be stored as the same object: compared as values after JSON (which
 * drops undefined fields), not as text, because a Go client encodes fields in its structs' order,
 * not the order they were stored in.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(asStored(a), asStored(b));
}

function asStored(v: unknown): unknown {
  return v === undefined ? undefined : JSON.parse(JSON.stringify(v));
}
