import { createHash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import type { SnapshotResponse__Output } from '../generated/etcdserverpb/SnapshotResponse';
import { CtlCommand, leaf } from './command';
import type { CtlContext } from './context';
import { CtlError, errorText, ExitCode } from './exit';

const DIGEST_BYTES = 32;

/**
 * Streams the member's database into `path`: written to `path.part`, checked against the sha256
 * the stream ends with, synced, then renamed, so `path` is only ever a complete snapshot.
 */
async function saveSnapshot(ctx: CtlContext, path: string): Promise<void> {
  const [endpoint, ...more] = ctx.globals.endpoints;
  if (endpoint === undefined || more.length > 0) {
    throw new Error(`snapshot must be requested to one selected node, not multiple [${ctx.globals.endpoints.join(' ')}]`);
  }
  const client = await ctx.endpointClient(endpoint, ctx.globals.dialTimeoutMs);
  const part = `${path}.part`;
  const file = await open(part, 'w', 0o600);
  try {
    const deadline = ctx.globals.commandTimeoutSet ? new Date(Date.now() + ctx.globals.commandTimeoutMs) : undefined;
    const hash = createHash('sha256');
    let tail = Buffer.alloc(0); // the last bytes seen, which may turn out to be the digest
    let size = 0;
    for await (const chunk of client.snapshotStream(deadline) as AsyncIterable<SnapshotResponse__Output>) {
      const blob = Buffer.from(chunk.blob);
      await file.write(blob);
      size += blob.length;
      const joined = Buffer.concat([tail, blob]);
      hash.update(joined.subarray(0, Math.max(0, joined.length - DIGEST_BYTES)));
      tail = joined.subarray(Math.max(0, joined.length - DIGEST_BYTES));
    }
    // etcd's check: a database is whole pages (512-byte multiples) followed by the 32-byte digest.
    if (size % 512 !== DIGEST_BYTES) throw new Error(`sha256 checksum not found [bytes: ${size}]`);
    if (!hash.digest().equals(tail)) throw new Error('sha256 checksum mismatch');
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(part, path);
}

export const snapshotCommand: CtlCommand = {
  register(program, bind) {
    const snapshot = program.command('snapshot').description('Manages etcd node snapshots');
    leaf(snapshot, 'save', 'Stores an etcd node backend snapshot to a given file').action(bind(async (ctx, args) => {
      if (args.length !== 1) throw new CtlError(ExitCode.BadArgs, 'snapshot save expects one argument');
      const path = args[0]!;
      try {
        await saveSnapshot(ctx, path);
      } catch (err) {
        await rm(`${path}.part`, { force: true });
        throw new CtlError(ExitCode.Interrupted, errorText(err));
      }
      ctx.out.out(`Snapshot saved at ${path}\n`);
    }));
    // etcdctl 3.4's flags and defaults; the data dir defaults to <name>.keel as keel's own does.
    leaf(snapshot, 'restore', 'Restores an etcd member snapshot to an etcd directory')
      .option('--data-dir <path>', 'Path to the data directory')
      .option('--name <name>', 'Human-readable name for this member', 'default')
      .option('--initial-cluster <list>', 'Initial cluster configuration for restore bootstrap', 'default=http://localhost:2380')
      .option('--initial-cluster-token <token>', 'Initial cluster token for the etcd cluster during restore bootstrap', 'etcd-cluster')
      .option('--initial-advertise-peer-urls <urls>', 'List of this member\'s peer URLs to advertise to the rest of the cluster', 'http://localhost:2380')
      .option('--skip-hash-check', 'Ignore snapshot integrity hash value (required if copied from data directory)')
      .action(bind(async (ctx, args, opts) => {
        if (args.length !== 1) throw new CtlError(ExitCode.BadArgs, 'snapshot restore requires exactly one argument');
        const name = String(opts.name);
        try {
          await ctx.io.restoreSnapshot({
            snapshotPath: args[0]!,
            dataDir: opts.dataDir === undefined ? `${name}.keel` : String(opts.dataDir),
            name,
            initialCluster: String(opts.initialCluster),
            initialClusterToken: String(opts.initialClusterToken),
            initialAdvertisePeerUrls: String(opts.initialAdvertisePeerUrls).split(',').map((u) => u.trim()),
            skipHashCheck: opts.skipHashCheck === true,
          });
        } catch (err) {
          throw new CtlError(ExitCode.Error, errorText(err));
        }
      }));
  },
};
