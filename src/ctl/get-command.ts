import type { Command } from 'commander';
import { FROM_KEY_RANGE_END, prefixRangeEnd } from '../client/key-ranges';
import type { RangeRequest } from '../generated/etcdserverpb/RangeRequest';
import { CtlCommand, int64Flag, leaf } from './command';
import { CtlError, ExitCode } from './exit';
import { FieldsPrinter } from './printer-fields';
import { SimplePrinter } from './printer-simple';

/** get's options, shared with txn's operation lines. */
export function defineGetOptions(cmd: Command): Command {
  return cmd
    .option('--consistency <l|s>', 'Linearizable(l) or Serializable(s)', 'l')
    .option('--order <order>', 'Order of results; ASCEND or DESCEND (ASCEND by default)', '')
    .option('--sort-by <target>', 'Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION', '')
    .option('--limit <n>', 'Maximum number of results', int64Flag, 0)
    .option('--prefix', 'Get keys with matching prefix')
    .option('--from-key', 'Get keys that are greater than or equal to the given key using byte compare')
    .option('--rev <rev>', 'Specify the kv revision', int64Flag, 0)
    .option('--keys-only', 'Get only the keys')
    .option('--count-only', 'Get only the count')
    .option('--print-value-only', 'Only write values when using the "simple" output format');
}

const SORT_TARGETS: Record<string, RangeRequest['sort_target']> = { CREATE: 'CREATE', KEY: 'KEY', MODIFY: 'MOD', VALUE: 'VALUE', VERSION: 'VERSION', '': 'KEY' };
const SORT_ORDERS: Record<string, RangeRequest['sort_order']> = { ASCEND: 'ASCEND', DESCEND: 'DESCEND', '': 'NONE' };

/** The RangeRequest etcdctl's getGetOp builds, with its checks in its order and its exit codes. */
export function getRequest(args: string[], opts: Record<string, unknown>): RangeRequest {
  if (args.length === 0) throw new CtlError(ExitCode.BadArgs, 'get command needs one argument as key and an optional argument as range_end');
  if (opts.prefix && opts.fromKey) throw new CtlError(ExitCode.BadArgs, '`--prefix` and `--from-key` cannot be set at the same time, choose one');
  if (opts.countOnly && opts.keysOnly) throw new CtlError(ExitCode.BadArgs, '`--keys-only` and `--count-only` cannot be set at the same time, choose one');
  const consistency = String(opts.consistency);
  if (consistency !== 'l' && consistency !== 's') throw new CtlError(ExitCode.BadFeature, `unknown consistency flag ${JSON.stringify(consistency)}`);
  if (args.length > 1 && (opts.prefix || opts.fromKey)) {
    throw new CtlError(ExitCode.BadArgs, 'too many arguments, only accept one argument when `--prefix` or `--from-key` is set');
  }
  const order = SORT_ORDERS[String(opts.order).toUpperCase()];
  if (order === undefined) throw new CtlError(ExitCode.BadFeature, `bad sort order ${String(opts.order)}`);
  const target = SORT_TARGETS[String(opts.sortBy).toUpperCase()];
  if (target === undefined) throw new CtlError(ExitCode.BadFeature, `bad sort target ${String(opts.sortBy)}`);
  const [key, rangeEnd] = keyRange(args, Boolean(opts.prefix), Boolean(opts.fromKey));
  return {
    key,
    range_end: rangeEnd,
    limit: opts.limit as number,
    revision: Math.max(0, opts.rev as number),
    sort_order: order,
    sort_target: target,
    serializable: consistency === 's',
    keys_only: Boolean(opts.keysOnly),
    count_only: Boolean(opts.countOnly),
  };
}

/**
 * key and range_end for `<key> [range_end]`, --prefix or --from-key, as clientv3 makes them: an
 * empty key with either flag means every key ("\0" up to "\0"). A single key has NO range_end:
 * etcd reads an empty but present range_end as "to the end of the key space".
 */
export function keyRange(args: string[], prefix: boolean, fromKey: boolean): [Buffer, Buffer | undefined] {
  const key = Buffer.from(args[0]!);
  if (args.length > 1) return [key, args[1] === '' ? undefined : Buffer.from(args[1]!)];
  if ((prefix || fromKey) && key.length === 0) return [Buffer.from([0]), FROM_KEY_RANGE_END];
  if (prefix) return [key, prefixRangeEnd(key)];
  if (fromKey) return [key, FROM_KEY_RANGE_END];
  return [key, undefined];
}

export const getCommand: CtlCommand = {
  register(program, bind) {
    defineGetOptions(leaf(program, 'get', 'Gets the key or a range of keys')).action(bind(async (ctx, args, opts) => {
      const req = getRequest(args, opts);
      const resp = await (await ctx.client()).range(req);
      // --count-only is etcdctl 3.5's; it prints only in the fields format, where Count is a line.
      if (opts.countOnly && !(ctx.printer instanceof FieldsPrinter)) {
        throw new CtlError(ExitCode.BadArgs, '--count-only is only for `--write-out=fields`');
      }
      if (opts.printValueOnly) {
        const printer = ctx.printer;
        if (!(printer instanceof SimplePrinter)) throw new CtlError(ExitCode.BadArgs, 'print-value-only is only for `--write-out=simple`');
        printer.valueOnly = true;
      }
      ctx.printer.get(resp);
    }));
  },
};
