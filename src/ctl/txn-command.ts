import type { Compare } from '../generated/etcdserverpb/Compare';
import type { RequestOp } from '../generated/etcdserverpb/RequestOp';
import { CtlCommand, leaf } from './command';
import type { CtlContext } from './context';
import { CtlError, ExitCode } from './exit';
import { parseCompare, parseOperation } from './txn-parse';

/** Lines of standard input; undefined at the end (a last line without a newline is not a line, as with Go's ReadString). */
type NextLine = () => Promise<string | undefined>;

function linesOfBuffer(input: Buffer): NextLine {
  const lines = input.toString('utf8').split('\n');
  lines.pop(); // what follows the last newline is cut off by EOF
  let i = 0;
  return async () => lines[i++];
}

function linesOfStream(ctx: CtlContext): NextLine {
  const it = ctx.io.stdinLines()[Symbol.asyncIterator]();
  return async () => {
    const r = await it.next();
    return r.done ? undefined : (r.value as string);
  };
}

/** Reads lines up to a blank one, parsing each; EOF before the blank line is etcdctl's "EOF" (exit 3). */
async function readSection<T>(next: NextLine, parse: (line: string) => T): Promise<T[]> {
  const out: T[] = [];
  for (;;) {
    const raw = await next();
    if (raw === undefined) throw new CtlError(ExitCode.InvalidInput, 'EOF');
    const line = raw.trim();
    if (line === '') return out;
    out.push(parse(line));
  }
}

export const txnCommand: CtlCommand = {
  register(program, bind) {
    leaf(program, 'txn', 'Txn processes all the requests in one transaction')
      .option('-i, --interactive', 'Input transaction in interactive mode')
      .action(bind(async (ctx, args, opts) => {
        if (args.length !== 0) throw new CtlError(ExitCode.BadArgs, 'txn command does not accept argument');
        const client = await ctx.client();
        const interactive = Boolean(opts.interactive);
        const next = interactive ? linesOfStream(ctx) : linesOfBuffer(await ctx.io.readStdin());
        const prompt = (text: string) => interactive && ctx.out.out(`${text}\n`);
        prompt('compares:');
        const compare: Compare[] = await readSection(next, parseCompare);
        prompt('success requests (get, put, del):');
        const success: RequestOp[] = await readSection(next, parseOperation);
        prompt('failure requests (get, put, del):');
        const failure: RequestOp[] = await readSection(next, parseOperation);
        ctx.printer.txn(await client.txn({ compare, success, failure }));
      }));
  },
};
