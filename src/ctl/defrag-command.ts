import { CtlCommand, leaf } from './command';
import { targetEndpoints } from './cluster-endpoints';
import { CtlError, errorText, ExitCode } from './exit';

export const defragCommand: CtlCommand = {
  register(program, bind) {
    leaf(program, 'defrag', 'Defragments the storage of the etcd members with given endpoints')
      .option('--cluster', 'use all endpoints from the cluster member list')
      .action(bind(async (ctx, _args, opts) => {
        let failures = 0;
        await ctx.checkLogIn();
        for (const ep of await targetEndpoints(ctx, Boolean(opts.cluster))) {
          try {
            await (await ctx.endpointClient(ep)).defragment();
            ctx.out.out(`Finished defragmenting etcd member[${ep}]\n`);
          } catch (err) {
            ctx.out.err(`Failed to defragment etcd member[${ep}] (${errorText(err)})\n`);
            failures++;
          }
        }
        if (failures > 0) throw new CtlError(ExitCode.Error, '');
      }));
  },
};
