import { KeySpan } from '../../mvcc/tree-index';
import { toKeyString } from '../../util/bytes';

/** Whether a range_end of "\0" asks for every key from the key on. */
export function isFromKey(rangeEnd: Buffer): boolean {
  return rangeEnd.length === 1 && rangeEnd[0] === 0;
}

/** The wire's (key, range_end) as a span: no end = one key, "\0" = every key from `key` on. */
export function spanOf(key: Buffer, rangeEnd: Buffer): KeySpan {
  const start = toKeyString(key);
  if (rangeEnd.length === 0) return { start, end: undefined };
  if (isFromKey(rangeEnd)) return { start, end: '' };
  return { start, end: toKeyString(rangeEnd) };
}
