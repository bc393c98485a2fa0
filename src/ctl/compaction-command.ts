import { CtlCommand, leaf } from './command';
import { CtlError, ExitCode } from './exit';

export const compactionCommand: CtlCommand = {
  register(program, bind) {
    leaf(program, 'compaction', 'Compacts the event history in etcd')
      .option('--physical', "'true' to wait for compaction to physically remove all old revisions")
      .action(bind(async (ctx, args, opts) => {
        if (args.length !== 1) throw new CtlError(ExitCode.BadArgs, 'compaction command needs 1 argument');
        if (!/^[+-]?\d+$/.test(args[0]!)) throw new CtlError(ExitCode.Error, `strconv.ParseInt: parsing ${JSON.stringify(args[0])}: invalid syntax`);
        const revision = args[0]!;
        await (await ctx.client()).compact({ revision, physical: Boolean(opts.physical) });
        ctx.out.out(`compacted revision ${BigInt(revision)}\n`);
      }));
  },
};
