/**
 * etcdctl is a Go program and its output is Go's formatting: `%q` quoting, encoding/json string
 * escapes, go-humanize byte sizes. keelctl must print the same bytes, so these reproduce them.
 */

/** One step of UTF-8 decoding: the code point and its byte length, or -1 for an invalid byte. */
function decodeRune(b: Uint8Array, i: number): { rune: number; size: number } {
  const c0 = b[i]!;
  if (c0 < 0x80) return { rune: c0, size: 1 };
  const invalid = { rune: -1, size: 1 };
  const need = c0 >= 0xc2 && c0 <= 0xdf ? 1 : c0 >= 0xe0 && c0 <= 0xef ? 2 : c0 >= 0xf0 && c0 <= 0xf4 ? 3 : -1;
  if (need < 0 || i + need >= b.length) return invalid;
  let rune = c0 & (need === 1 ? 0x1f : need === 2 ? 0x0f : 0x07);
  for (let k = 1; k <= need; k++) {
    const c = b[i + k]!;
    if ((c & 0xc0) !== 0x80) return invalid;
    rune = (rune << 6) | (c & 0x3f);
  }
  const min = need === 1 ? 0x80 : need === 2 ? 0x800 : 0x10000;
  if (rune < min || rune > 0x10ffff || (rune >= 0xd800 && rune <= 0xdfff)) return invalid;
  return { rune, size: need + 1 };
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/** Go's strconv.Quote (fmt `%q`) of a byte string: invalid UTF-8 bytes become \xNN. */
export function goQuote(bytes: Uint8Array | string): string {
  const b = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  let out = '"';
  for (let i = 0; i < b.length;) {
    const { rune, size } = decodeRune(b, i);
    i += size;
    if (rune < 0) {
      out += `\\x${hex2(b[i - 1]!)}`;
      continue;
    }
    const ch = String.fromCodePoint(rune);
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (PRINTABLE.test(ch)) out += ch;
    else {
      const named: Record<number, string> = { 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v' };
      if (named[rune] !== undefined) out += named[rune];
      else if (rune < 0x20 || rune === 0x7f) out += `\\x${hex2(rune)}`;
      else if (rune < 0x10000) out += `\\u${rune.toString(16).padStart(4, '0')}`;
      else out += `\\U${rune.toString(16).padStart(8, '0')}`;
    }
  }
  return out + '"';
}

/** encoding/json's string encoding (Go 1.19, which etcd 3.4 is built with): HTML-safe escapes. */
export function goJsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029) {
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return out + '"';
}

/** go-humanize's Bytes: SI units (1000), one decimal below 10, e.g. "20 kB", "1.5 MB". */
export function humanizeBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const sizes = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const val = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  return `${val < 10 ? val.toFixed(1) : roundHalfEven(val)} ${sizes[e]}`;
}

/** Go's %.0f rounds an exact half to the even neighbour; JavaScript's toFixed rounds it up. */
function roundHalfEven(v: number): string {
  const floor = Math.floor(v);
  if (v - floor !== 0.5) return Math.round(v).toString();
  return (floor % 2 === 0 ? floor : floor + 1).toString();
}

/** etcdctl's --hex form of a byte string: every byte as \xNN. */
export function hexEscaped(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += `\\x${hex2(b)}`;
  return out;
}

/** Go's `%016x` of a uint64 given as a decimal string (lease IDs). */
export function hex16(decimal: string): string {
  return BigInt.asUintN(64, BigInt(decimal)).toString(16).padStart(16, '0');
}

/** Go's `%16x` of a uint64 given as a decimal string: hex, padded with spaces (member add/remove). */
export function hexId16(decimal: string): string {
  return hexId(decimal).padStart(16, ' ');
}

/** Go's `%x` of a uint64 given as a decimal string (member IDs). */
export function hexId(decimal: string): string {
  return BigInt.asUintN(64, BigInt(decimal)).toString(16);
}
