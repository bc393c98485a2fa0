import type { Command } from 'commander';
import type { PutRequest } from '../generated/etcdserverpb/PutRequest';
import { CtlCommand, leaf } from './command';
import { CtlError, ExitCode } from './exit';

/** put's options, shared with txn's operation lines (etcdctl parses those with the same flags). */
export function definePutOptions(cmd: Command): Command {
  return cmd
    .option('--lease <id>', 'lease ID (in hexadecimal) to attach to the key', '0')
    .option('--prev-kv', 'return the previous key-value pair before modification')
    .option('--ignore-value', 'updates the key using its current value')
    .option('--ignore-lease', 'updates the key using its current lease');
}

/** The PutRequest for `put <key> <value>`; the value may come from stdin when `stdin` is given. */
export function putRequest(args: string[], opts: Record<string, unknown>, stdin?: Buffer): PutRequest {
  const usage = 'put command needs 1 argument and input from stdin or 2 arguments';
  if (args.length === 0) throw new CtlError(ExitCode.BadArgs, usage);
  if (opts.ignoreValue && args.length > 1) throw new CtlError(ExitCode.BadArgs, "put command needs only 1 argument when 'ignore-value' is set");
  let value: Buffer = Buffer.alloc(0);
  if (!opts.ignoreValue) {
    if (args.length > 1) value = Buffer.from(args[1]!);
    else if (stdin && stdin.length > 0) value = stdin;
    else throw new CtlError(ExitCode.BadArgs, usage);
  }
  const lease = parseLeaseId(String(opts.lease), 'bad lease ID (%v), expecting ID in Hex');
  return {
    key: Buffer.from(args[0]!),
    value,
    lease,
    prev_kv: Boolean(opts.prevKv),
    ignore_value: Boolean(opts.ignoreValue),
    ignore_lease: Boolean(opts.ignoreLease),
  };
}

/** A lease ID in hex (strconv.ParseInt(s, 16, 64)) as a decimal string; `format` has etcdctl's %v. */
export function parseLeaseId(text: string, format: string): string {
  const m = /^([+-]?)([0-9a-fA-F]+)$/.exec(text);
  const value = m ? BigInt(`0x${m[2]}`) * (m[1] === '-' ? -1n : 1n) : undefined;
  if (value === undefined) throw new CtlError(ExitCode.BadArgs, format.replace('%v', `strconv.ParseInt: parsing ${JSON.stringify(text)}: invalid syntax`));
  if (value > 2n ** 63n - 1n || value < -(2n ** 63n)) {
    throw new CtlError(ExitCode.BadArgs, format.replace('%v', `strconv.ParseInt: parsing ${JSON.stringify(text)}: value out of range`));
  }
  return value.toString();
}

export const putCommand: CtlCommand = {
  register(program, bind) {
    definePutOptions(leaf(program, 'put', 'Puts the given key into the store')).action(bind(async (ctx, args, opts) => {
      const req = putRequest(args, opts, args.length < 2 && !opts.ignoreValue ? await ctx.io.readStdin() : undefined);
      ctx.printer.put(await (await ctx.client()).put(req));
    }));
  },
};
