import { Election } from '../client/election';
import { Session } from '../client/session';
import { CtlCommand, leaf } from './command';
import { CtlError, ExitCode } from './exit';

export const electCommand: CtlCommand = {
  register(program, bind) {
    leaf(program, 'elect', 'Observes and participates in leader election')
      .option('-l, --listen', 'observation mode')
      .action(bind(async (ctx, args, opts) => {
        if (args.length !== 1 && args.length !== 2) {
          throw new CtlError(ExitCode.BadArgs, 'elect takes one election name argument and an optional proposal argument');
        }
        if (args.length === 1 && !opts.listen) throw new CtlError(ExitCode.BadArgs, 'no proposal argument but -l not set');
        if (args.length === 2 && opts.listen) throw new CtlError(ExitCode.BadArgs, 'proposal given but -l is set');
        const client = await ctx.client();
        const election = new Election(client, args[0]!);
        const interrupted = ctx.io.interrupted();
        if (args.length === 1) {
          await election.observe(({ header, kv }) => ctx.printer.get({ header, kvs: [kv], more: false, count: '0' }), interrupted)
            .catch((err: Error) => {
              throw new CtlError(ExitCode.Error, err.message);
            });
          return;
        }
        const session = await Session.create(client);
        try {
          const won = election.campaign(session, args[1]!);
          const key = await Promise.race([won, interrupted.then(() => undefined)]);
          if (key === undefined) return;
          ctx.printer.get(await client.range({ key }));
          const how = await Promise.race([interrupted.then(() => 'signal'), session.done.then(() => 'expired')]);
          if (how === 'expired') throw new CtlError(ExitCode.Error, 'elect: session expired');
          await election.resign(key);
        } finally {
          await session.close();
        }
      }));
  },
};
