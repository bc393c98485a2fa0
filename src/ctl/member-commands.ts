import { CtlCommand, leaf } from './command';
import { CtlError, ExitCode } from './exit';
import { SimplePrinter } from './printer-simple';

/** A member ID in hex (strconv.ParseUint(s, 16, 64)) as a decimal string. */
export function parseMemberId(text: string, format = 'bad member ID arg (%v), expecting ID in Hex'): string {
  if (!/^[0-9a-fA-F]+$/.test(text) || BigInt(`0x${text}`) >= 2n ** 64n) {
    const why = /^[0-9a-fA-F]+$/.test(text) ? 'value out of range' : 'invalid syntax';
    throw new CtlError(ExitCode.BadArgs, format.replace('%v', `strconv.ParseUint: parsing ${JSON.stringify(text)}: ${why}`));
  }
  return BigInt(`0x${text}`).toString();
}

const peerUrls = (opts: Record<string, unknown>) => String(opts.peerUrls ?? '');

export const memberCommands: CtlCommand = {
  register(program, bind) {
    const member = program.command('member').description('Membership related commands');

    leaf(member, 'add', 'Adds a member into the cluster')
      .option('--peer-urls <urls>', 'comma separated peer URLs for the new member.')
      .option('--learner', 'indicates if the new member is raft learner')
      .action(bind(async (ctx, args, opts) => {
        if (args.length < 1) throw new CtlError(ExitCode.BadArgs, 'member name not provided');
        if (args.length > 1) {
          const hints = args.filter((a) => a.toLowerCase().startsWith('http')).map((a) => `, did you mean --peer-urls=${a}`);
          throw new CtlError(ExitCode.BadArgs, `too many arguments${hints.join('')}`);
        }
        if (peerUrls(opts) === '') throw new CtlError(ExitCode.BadArgs, 'member peer urls not provided');
        const name = args[0]!;
        const client = await ctx.client();
        const resp = await client.memberAdd({ peerURLs: peerUrls(opts).split(','), isLearner: Boolean(opts.learner) });
        ctx.printer.memberAdd(resp);
        if (!(ctx.printer instanceof SimplePrinter)) return;
        // What the new member needs to start and join, as etcd environment variables.
        const newId = resp.member?.ID;
        const conf = resp.members.flatMap((m) => m.peerURLs.map((u) => `${m.ID === newId ? name : m.name}=${u}`));
        ctx.out.out(`\nETCD_NAME=${JSON.stringify(name)}\nETCD_INITIAL_CLUSTER=${JSON.stringify(conf.join(','))}\n` +
          `ETCD_INITIAL_ADVERTISE_PEER_URLS=${JSON.stringify(peerUrls(opts))}\nETCD_INITIAL_CLUSTER_STATE="existing"\n`);
      }));

    leaf(member, 'remove', 'Removes a member from the cluster').action(bind(async (ctx, args) => {
      if (args.length !== 1) throw new CtlError(ExitCode.BadArgs, 'member ID is not provided');
      const id = parseMemberId(args[0]!);
      ctx.printer.memberRemove(id, await (await ctx.client()).memberRemove(id));
    }));

    leaf(member, 'update', 'Updates a member in the cluster')
      .option('--peer-urls <urls>', 'comma separated peer URLs for the updated member.')
      .action(bind(async (ctx, args, opts) => {
        if (args.length !== 1) throw new CtlError(ExitCode.BadArgs, 'member ID is not provided');
        const id = parseMemberId(args[0]!);
        if (peerUrls(opts) === '') throw new CtlError(ExitCode.BadArgs, 'member peer urls not provided');
        ctx.printer.memberUpdate(id, await (await ctx.client()).memberUpdate({ ID: id, peerURLs: peerUrls(opts).split(',') }));
      }));

    leaf(member, 'list', 'Lists all members in the cluster').action(bind(async (ctx) => {
      ctx.printer.memberList(await (await ctx.client()).memberList());
    }));

    leaf(member, 'promote', 'Promotes a non-voting member in the cluster').action(bind(async (ctx, args) => {
      if (args.length !== 1) throw new CtlError(ExitCode.BadArgs, 'member ID is not provided');
      const id = parseMemberId(args[0]!);
      ctx.printer.memberPromote(id, await (await ctx.client()).memberPromote(id));
    }));
  },
};
