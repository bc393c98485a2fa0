import { createHash } from 'node:crypto';

/** Marks a Keel snapshot, so that restoring something else (an etcd bolt file) fails clearly. */
const MAGIC = Buffer.from('KEEL-SNAPSHOT-V1\n');
/** etcd ends the snapshot stream with a sha256 of the contents; etcdctl saves it with the rest. */
const SHA256_BYTES = 32;

/** A snapshot's contents as streamed and saved: the magic, then the state dump. */
export function snapshotContents(dump: Buffer): Buffer {
  return Buffer.concat([MAGIC, dump]);
}

export function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/**
 * The state dump inside a saved snapshot file (contents followed by their sha256, as `etcdctl
 * snapshot save` writes it). The hash must match unless `skipHashCheck`, which also accepts a
 * file saved without one, as etcd's --skip-hash-check does.
 */
export function readSnapshotFile(file: Buffer, skipHashCheck: boolean): Buffer {
  let contents = file;
  const body = file.subarray(0, Math.max(0, file.length - SHA256_BYTES));
  const hashed = file.length >= MAGIC.length + SHA256_BYTES && sha256(body).equals(file.subarray(body.length));
  if (hashed) contents = body;
  else if (!skipHashCheck) {
    if (file.length < SHA256_BYTES) throw new Error('snapshot missing hash but --skip-hash-check=false');
    throw new Error(`expected sha256 ${file.subarray(body.length).toString('hex')}, got ${sha256(body).toString('hex')}`);
  }
  if (!contents.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not a keel snapshot (no keel snapshot header)');
  return contents.subarray(MAGIC.length);
}
