import type { EtcdClient } from '../client/etcd-client';
import type { LeaseKeepAliveResponse__Output } from '../generated/etcdserverpb/LeaseKeepAliveResponse';
import { CtlCommand, leaf } from './command';
import type { CtlContext } from './context';
import { CtlError, errorText, ExitCode } from './exit';
import { hex16 } from './go-format';
import { SimplePrinter } from './printer-simple';
import { parseLeaseId } from './put-command';

const leaseArg = (text: string) => parseLeaseId(text, 'bad lease ID arg (%v), expecting ID in Hex');

/** Runs `fn`, turning a server failure into etcdctl's exit code and wording for this command. */
async function orExit<T>(code: number, fn: () => Promise<T>, wrap = (text: string) => text): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CtlError) throw err;
    throw new CtlError(code, wrap(errorText(err)));
  }
}

/** One keep-alive on a fresh stream: the answer, or etcd's lease-not-found once TTL says it is gone. */
export function keepAliveOnce(client: EtcdClient, id: string): Promise<LeaseKeepAliveResponse__Output> {
  return new Promise((resolve, reject) => {
    const stream = client.leaseKeepAliveStream();
    stream.once('data', (r: LeaseKeepAliveResponse__Output) => {
      stream.cancel();
      if (Number(r.TTL) <= 0) reject(new CtlError(ExitCode.BadConnection, 'etcdserver: requested lease not found'));
      else resolve(r);
    });
    stream.once('error', reject);
    stream.write({ ID: id });
  });
}

/** keep-alive without --once: renew every TTL/3 and print each answer until the lease is gone. */
async function keepAliveForever(ctx: CtlContext, client: EtcdClient, id: string): Promise<void> {
  const stream = client.leaseKeepAliveStream();
  await new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    stream.on('data', (r: LeaseKeepAliveResponse__Output) => {
      if (Number(r.TTL) <= 0) {
        stream.cancel();
        resolve();
        return;
      }
      ctx.printer.keepAlive(r);
      timer = setTimeout(() => stream.write({ ID: id }), Math.max(500, (Number(r.TTL) * 1000) / 3));
    });
    stream.on('error', (err: { code?: number }) => {
      clearTimeout(timer);
      if (err.code === 1) resolve();
      else reject(new CtlError(ExitCode.BadConnection, errorText(err)));
    });
    stream.write({ ID: id });
  });
  if (ctx.printer instanceof SimplePrinter) ctx.out.out(`lease ${hex16(id)} expired or revoked.\n`);
}

export const leaseCommands: CtlCommand = {
  register(program, bind) {
    const lease = program.command('lease').description('Lease related commands');

    leaf(lease, 'grant', 'Creates leases').action(bind(async (ctx, args) => {
      if (args.length !== 1) throw new CtlError(ExitCode.BadArgs, 'lease grant command needs TTL argument');
      if (!/^[+-]?\d+$/.test(args[0]!)) throw new CtlError(ExitCode.BadArgs, `bad TTL (strconv.ParseInt: parsing ${JSON.stringify(args[0])}: invalid syntax)`);
      const client = await ctx.client();
      const resp = await orExit(ExitCode.Error, () => client.leaseGrant({ TTL: args[0]!, ID: 0 }), (t) => `failed to grant lease (${t})`);
      ctx.printer.grant(resp);
    }));

    leaf(lease, 'revoke', 'Revokes leases').action(bind(async (ctx, args) => {
      if (args.length !== 1) throw new CtlError(ExitCode.BadArgs, 'lease revoke command needs 1 argument');
      const id = leaseArg(args[0]!);
      const client = await ctx.client();
      const resp = await orExit(ExitCode.Error, () => client.leaseRevoke({ ID: id }), (t) => `failed to revoke lease (${t})`);
      ctx.printer.revoke(id, resp);
    }));

    leaf(lease, 'timetolive', 'Get lease information')
      .option('--keys', 'Get keys attached to this lease')
      .action(bind(async (ctx, args, opts) => {
        if (args.length !== 1) throw new CtlError(ExitCode.BadArgs, 'lease timetolive command needs lease ID as argument');
        const id = leaseArg(args[0]!);
        const client = await ctx.client();
        const resp = await orExit(ExitCode.BadConnection, () => client.leaseTimeToLive({ ID: id, keys: Boolean(opts.keys) }));
        ctx.printer.timeToLive(resp, Boolean(opts.keys));
      }));

    leaf(lease, 'list', 'List all active leases').action(bind(async (ctx) => {
      const client = await ctx.client();
      ctx.printer.leases(await orExit(ExitCode.BadConnection, () => client.leaseLeases()));
    }));

    leaf(lease, 'keep-alive', 'Keeps leases alive (renew)')
      .option('--once', 'Resets the keep-alive time to its original value and exits immediately')
      .action(bind(async (ctx, args, opts) => {
        if (args.length !== 1) throw new CtlError(ExitCode.BadArgs, 'lease keep-alive command needs lease ID as argument');
        const id = leaseArg(args[0]!);
        const client = await ctx.client();
        if (opts.once) ctx.printer.keepAlive(await orExit(ExitCode.BadConnection, () => keepAliveOnce(client, id)));
        else await keepAliveForever(ctx, client, id);
      }));
  },
};
