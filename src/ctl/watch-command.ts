import { prefixRangeEnd } from '../client/key-ranges';
import type { WatchResponse__Output } from '../generated/etcdserverpb/WatchResponse';
import { CtlCommand, int64Flag, leaf } from './command';
import { CtlError, ExitCode } from './exit';

/** clientv3's text for why the server cancelled a watch (WatchResponse.Err()). */
function cancelReason(r: WatchResponse__Output): string {
  if (r.compact_revision !== '0') return 'etcdserver: mvcc: required revision has been compacted';
  if (r.cancel_reason !== '') return r.cancel_reason;
  return 'etcdserver: mvcc: required revision is a future revision';
}

export const watchCommand: CtlCommand = {
  register(program, bind) {
    leaf(program, 'watch', 'Watches events stream on keys or prefixes')
      .option('--prefix', 'Watch on a prefix if prefix is set')
      .option('--rev <rev>', 'Revision to start watching', int64Flag, 0)
      .option('--prev-kv', 'get the previous key-value pair before the event happens')
      .action(bind(async (ctx, args, opts) => {
        if (args.length < 1 || args.length > 2) throw new CtlError(ExitCode.BadArgs, 'bad number of arguments');
        if (args.length === 2 && opts.prefix) throw new CtlError(ExitCode.BadArgs, '`range_end` and `--prefix` are mutually exclusive');
        const client = await ctx.client();
        const key = Buffer.from(args[0]!);
        const rangeEnd = args.length === 2 ? Buffer.from(args[1]!) : opts.prefix ? prefixRangeEnd(key) : undefined;
        // etcdctl watches WithRequireLeader: a member cut off from the leader cancels the watch.
        const stream = client.watchStream({ hasleader: 'true' });
        await new Promise<void>((resolve) => {
          stream.on('data', (r: WatchResponse__Output) => {
            if (r.canceled) ctx.out.err(`watch was canceled (${cancelReason(r)})\n`);
            // clientv3 swallows the `created` answer and empty answers nobody asked for.
            if (r.canceled || r.events.length > 0) ctx.printer.watch(r);
            if (r.canceled) {
              stream.cancel();
              resolve();
            }
          });
          stream.on('error', () => resolve());
          stream.on('end', () => resolve());
          stream.write({
            create_request: { key, range_end: rangeEnd, start_revision: opts.rev as number, prev_kv: Boolean(opts.prevKv) },
          });
        });
        throw new CtlError(ExitCode.Interrupted, 'watch is canceled by the server');
      }));
  },
};
