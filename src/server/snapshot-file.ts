import { createHash } from 'node:crypto';

/** Marks a Keel snapshot, so that restoring something else (an etcd bolt file) fails clearly. */
const MAGIC = Buffer.from('KEEL-SNAPSHOT-V1\n');
/** etcd ends the snapshot stream with a sha256 of the contents; etcdctl saves it with the rest. */
const SHA256_BYTES = 32;
/**
 * etcdctl 3.4 accepts a saved snapshot only if its size is a multiple of 512 (bolt's pages) plus
 * the hash, and etcd's restore tells a hashed file from a bare one the same way; the contents are
 * padded to match.
 */
const BLOCK = 512;

/** A snapshot's contents as streamed and saved: magic, dump length, the state dump, padding. */
export function snapshotContents(dump: Buffer): Buffer {
  const length = Buffer.alloc(8);
  length.writeBigUInt64BE(BigInt(dump.length));
  const used = MAGIC.length + length.length + dump.length;
  return Buffer.concat([MAGIC, length, dump, Buffer.alloc((BLOCK - (used % BLOCK)) % BLOCK)]);
}

export function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/**
 * The state dump inside a saved snapshot file (contents followed by their sha256, as `etcdctl
 * snapshot save` writes it). The hash must match unless `skipHashCheck`, which also accepts a
 * file without one, as etcd's --skip-hash-check does.
 */
export function readSnapshotFile(file: Buffer, skipHashCheck: boolean): Buffer {
  const hasHash = file.length % BLOCK === SHA256_BYTES;
  if (!hasHash && !skipHashCheck) throw new Error('snapshot missing hash but --skip-hash-check=false');
  const contents = hasHash ? file.subarray(0, file.length - SHA256_BYTES) : file;
  if (hasHash && !skipHashCheck) {
    const expected = file.subarray(contents.length);
    const actual = sha256(contents);
    if (!expected.equals(actual)) throw new Error(`expected sha256 ${expected.toString('hex')}, got ${actual.toString('hex')}`);
  }
  if (contents.length < MAGIC.length + 8 || !contents.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new Error('not a keel snapshot (no keel snapshot header)');
  }
  const length = Number(contents.readBigUInt64BE(MAGIC.length));
  const start = MAGIC.length + 8;
  if (start + length > contents.length) throw new Error('keel snapshot is cut short');
  return contents.subarray(start, start + length);
}
