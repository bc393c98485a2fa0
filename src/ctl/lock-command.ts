import { spawn } from 'node:child_process';
import { Mutex } from '../client/mutex';
import { Session } from '../client/session';
import { CtlCommand, int64Flag, leaf } from './command';
import { CtlError, ExitCode } from './exit';

/** Runs `argv` with the lock's key and revision in its environment; resolves with its exit code. */
function runHolding(argv: string[], m: Mutex): Promise<number> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ETCD_LOCK_KEY: m.key.toString(), ETCD_LOCK_REV: m.revision };
    spawn(argv[0]!, argv.slice(1), { env, stdio: 'inherit' }).once('error', reject).once('exit', (code) => resolve(code ?? 1));
  });
}

export const lockCommand: CtlCommand = {
  register(program, bind) {
    leaf(program, 'lock', 'Acquires a named lock')
      .option('--ttl <seconds>', 'timeout for session', int64Flag, 10)
      .action(bind(async (ctx, args, opts) => {
        if (args.length === 0) throw new CtlError(ExitCode.BadArgs, 'lock takes a lock name argument and an optional command to execute');
        const client = await ctx.client();
        const session = await Session.create(client, opts.ttl as number);
        const interrupted = ctx.io.interrupted();
        try {
          const m = new Mutex(client, session, args[0]!);
          await Promise.race([m.lock(), interrupted.then(() => Promise.reject(new CtlError(ExitCode.Error, 'context canceled')))]);
          if (args.length > 1) {
            const code = await runHolding(args.slice(1), m);
            await m.unlock();
            if (code !== 0) throw new CtlError(ExitCode.Error, `exit status ${code}`);
            return;
          }
          const held = await client.range({ key: m.key });
          if (held.kvs.length === 0) throw new CtlError(ExitCode.Error, 'lock lost on init');
          ctx.printer.get(held);
          const how = await Promise.race([interrupted.then(() => 'signal'), session.done.then(() => 'expired')]);
          if (how === 'expired') throw new CtlError(ExitCode.Error, 'session expired');
          await m.unlock();
        } finally {
          await session.close();
        }
      }));
  },
};
