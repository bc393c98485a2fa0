/** clientv3's key range helpers: the range_end values that select a prefix or everything from a key. */

/** The end of the range holding every key that starts with `prefix`; "\0" (to the end) if none is. */
export function prefixRangeEnd(prefix: Uint8Array): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** range_end "\0" means "every key from `key` on". */
export const FROM_KEY_RANGE_END = Buffer.from([0]);
