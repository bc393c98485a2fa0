import { CtlCommand, leaf } from './command';
import { CtlError, ExitCode } from './exit';
import { parseMemberId } from './member-commands';

export const moveLeaderCommand: CtlCommand = {
  register(program, bind) {
    leaf(program, 'move-leader', 'Transfers leadership to another etcd cluster member.').action(bind(async (ctx, args) => {
      if (args.length !== 1) throw new CtlError(ExitCode.BadArgs, 'move-leader command needs 1 argument');
      const target = parseMemberId(args[0]!, '%v');
      void ctx.printer;
      await ctx.checkLogIn();
      // Only the leader can hand over leadership: find it among the given endpoints, each logged
      // in on its own with --user (a refused login exits 2, as etcdctl's per-endpoint client does).
      for (const ep of ctx.globals.endpoints) {
        const client = await ctx.endpointClient(ep);
        const status = await client.status();
        if (status.header?.member_id === status.leader) {
          const resp = await client.moveLeader(target);
          ctx.printer.moveLeader(status.leader, target, resp);
          return;
        }
      }
      throw new CtlError(ExitCode.BadArgs, `no leader endpoint given at [${ctx.globals.endpoints.join(' ')}]`);
    }));
  },
};
