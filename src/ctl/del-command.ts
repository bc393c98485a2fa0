import type { Command } from 'commander';
import type { DeleteRangeRequest } from '../generated/etcdserverpb/DeleteRangeRequest';
import { CtlCommand, leaf } from './command';
import { CtlError, ExitCode } from './exit';
import { keyRange } from './get-command';

/** del's options, shared with txn's operation lines. */
export function defineDelOptions(cmd: Command): Command {
  return cmd
    .option('--prefix', 'delete keys with matching prefix')
    .option('--prev-kv', 'return deleted key-value pairs')
    .option('--from-key', 'delete keys that are greater than or equal to the given key using byte compare');
}

/** The DeleteRangeRequest etcdctl's getDelOp builds. */
export function delRequest(args: string[], opts: Record<string, unknown>): DeleteRangeRequest {
  if (args.length === 0 || args.length > 2) throw new CtlError(ExitCode.BadArgs, 'del command needs one argument as key and an optional argument as range_end');
  if (opts.prefix && opts.fromKey) throw new CtlError(ExitCode.BadArgs, '`--prefix` and `--from-key` cannot be set at the same time, choose one');
  if (args.length > 1 && (opts.prefix || opts.fromKey)) {
    throw new CtlError(ExitCode.BadArgs, 'too many arguments, only accept one argument when `--prefix` or `--from-key` is set');
  }
  const [key, rangeEnd] = keyRange(args, Boolean(opts.prefix), Boolean(opts.fromKey));
  return { key, range_end: rangeEnd, prev_kv: Boolean(opts.prevKv) };
}

export const delCommand: CtlCommand = {
  register(program, bind) {
    defineDelOptions(leaf(program, 'del', 'Removes the specified key or range of keys [key, range_end)')).action(bind(async (ctx, args, opts) => {
      ctx.printer.del(await (await ctx.client()).deleteRange(delRequest(args, opts)));
    }));
  },
};
