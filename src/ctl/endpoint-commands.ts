import { formatGoDuration } from '../util/go-duration';
import { CtlCommand, int64Flag, leaf } from './command';
import { targetEndpoints } from './cluster-endpoints';
import { CtlError, errorText, ExitCode } from './exit';
import type { EpHashKV, EpHealth, EpStatus } from './printer';

/** etcd answers a health probe it may not read (auth) with permission denied: still healthy. */
const PERMISSION_DENIED = 'etcdserver: permission denied';

export const endpointCommands: CtlCommand = {
  register(program, bind) {
    const endpoint = program.command('endpoint').description('Endpoint related commands')
      .option('--cluster', 'use all endpoints from the cluster member list');
    const cluster = (opts: Record<string, unknown>, ctxOpts: Record<string, unknown>) => Boolean(opts.cluster ?? ctxOpts.cluster);

    leaf(endpoint, 'health', 'Checks the healthiness of endpoints specified in `--endpoints` flag')
      .option('--cluster', 'use all endpoints from the cluster member list')
      .action(bind(async (ctx, _args, opts) => {
        void ctx.printer;
        const eps = await targetEndpoints(ctx, cluster(opts, endpoint.opts()));
        // A linearizable read of the key "health" on each endpoint, all at once.
        const list: EpHealth[] = await Promise.all(eps.map(async (ep) => {
          const started = process.hrtime.bigint();
          // etcdctl builds one client per endpoint, logged in there: a refused login is that endpoint's error.
          const error = await ctx.endpointClient(ep).then((c) => c.range({ key: Buffer.from('health') }))
            .then(() => '', (err: unknown) => errorText(err));
          const took = formatGoDuration(process.hrtime.bigint() - started);
          const healthy = error === '' || error === PERMISSION_DENIED;
          return { ep, health: healthy, took, error: healthy ? '' : error };
        }));
        ctx.printer.endpointHealth(list);
        if (list.some((h) => !h.health)) throw new CtlError(ExitCode.Error, 'unhealthy cluster');
      }));

    leaf(endpoint, 'status', 'Prints out the status of endpoints specified in `--endpoints` flag')
      .option('--cluster', 'use all endpoints from the cluster member list')
      .action(bind(async (ctx, _args, opts) => {
        await ctx.checkLogIn();
        const eps = await targetEndpoints(ctx, cluster(opts, endpoint.opts()));
        void ctx.printer;
        const list: EpStatus[] = [];
        let failed = false;
        for (const ep of eps) {
          try {
            list.push({ ep, resp: await (await ctx.endpointClient(ep)).status() });
          } catch (err) {
            failed = true;
            ctx.out.err(`Failed to get the status of endpoint ${ep} (${errorText(err)})\n`);
          }
        }
        ctx.printer.endpointStatus(list);
        if (failed) throw new CtlError(ExitCode.Error, '');
      }));

    leaf(endpoint, 'hashkv', 'Prints the KV history hash for each endpoint in --endpoints')
      .option('--cluster', 'use all endpoints from the cluster member list')
      .option('--rev <rev>', 'maximum revision to hash (default: all revisions)', int64Flag, 0)
      .action(bind(async (ctx, _args, opts) => {
        await ctx.checkLogIn();
        const eps = await targetEndpoints(ctx, cluster(opts, endpoint.opts()));
        void ctx.printer;
        const list: EpHashKV[] = [];
        let lastError: string | undefined;
        for (const ep of eps) {
          try {
            list.push({ ep, resp: await (await ctx.endpointClient(ep)).hashKV(opts.rev as number) });
          } catch (err) {
            lastError = errorText(err);
            ctx.out.err(`Failed to get the hash of endpoint ${ep} (${lastError})\n`);
          }
        }
        ctx.printer.endpointHashKV(list);
        if (lastError !== undefined) throw new CtlError(ExitCode.Error, lastError);
      }));
  },
};
