import { Command, CommanderError } from 'commander';
import { parseGoDuration } from '../util/go-duration';
import type { Bind } from './command';
import { COMMANDS } from './commands';
import { CtlContext, CtlIO, GlobalOptions } from './context';
import { CtlError, errorText, ExitCode } from './exit';

/** A Go duration flag value (--dial-timeout=2s), in milliseconds. */
function durationFlag(value: string): number {
  const ms = parseGoDuration(value);
  if (ms === undefined) throw new CtlError(ExitCode.Error, `time: invalid duration ${JSON.stringify(value)}`);
  return ms;
}

/**
 * keelctl: etcdctl's v3 commands, flags, output formats and exit codes. Global flags may also come
 * from the environment as ETCDCTL_<FLAG> (ETCDCTL_ENDPOINTS, ETCDCTL_DIAL_TIMEOUT, ...); the
 * command line wins. Resolves with the exit code.
 */
export async function runKeelctl(argv: string[], io: CtlIO): Promise<number> {
  const program = new Command('keelctl')
    .description('A simple command line client for etcd3 and Keel.')
    .option('--endpoints <list>', 'gRPC endpoints', '127.0.0.1:2379')
    .option('--dial-timeout <duration>', 'dial timeout for client connections', '2s')
    .option('--command-timeout <duration>', 'timeout for short running command (excluding dial timeout)', '5s')
    .option('-w, --write-out <format>', 'set the output format (fields, json, simple, table)', 'simple')
    .option('--hex', 'print byte strings as hex encoded strings')
    .option('--cacert <path>', 'verify certificates of TLS-enabled secure servers using this CA bundle')
    .option('--cert <path>', 'identify secure client using this TLS certificate file')
    .option('--key <path>', 'identify secure client using this TLS key file')
    .option('--insecure-skip-tls-verify', 'skip server certificate verification')
    .option('--user <name[:password]>', 'username[:password] for authentication')
    .option('--password <password>', 'password for authentication (if this option is used, --user option shouldn\'t include password)');
  let exitCode = ExitCode.Success as number;
  const bind: Bind = (action) => async (...commanderArgs) => {
    const cmd = commanderArgs[commanderArgs.length - 1] as Command;
    const args = commanderArgs[0] as string[];
    const ctx = new CtlContext(globalOptions(cmd, io.env), io);
    try {
      await action(ctx, args, cmd.opts());
    } finally {
      ctx.close();
    }
  };
  for (const c of COMMANDS) c.register(program, bind);
  // Commander must throw rather than exit, and print nothing itself, at every level of subcommand.
  const quiet = (c: Command): void => {
    c.exitOverride().configureOutput({ writeOut: (s) => io.output.out(s), writeErr: () => undefined });
    c.commands.forEach(quiet);
  };
  quiet(program);

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    const [code, message] = failure(err);
    exitCode = code;
    if (message !== undefined) io.output.err(`Error: ${message}\n`);
  }
  return exitCode;
}

/** The global flags: the command line, else ETCDCTL_<FLAG> (as pflag's SetPflagsFromEnv), else the default. */
function globalOptions(cmd: Command, env: NodeJS.ProcessEnv): GlobalOptions {
  const o = cmd.optsWithGlobals();
  let commandTimeoutSet = cmd.getOptionValueSourceWithGlobals('commandTimeout') === 'cli';
  for (const [key, flag] of [
    ['endpoints', 'endpoints'], ['dialTimeout', 'dial-timeout'], ['commandTimeout', 'command-timeout'], ['writeOut', 'write-out'], ['hex', 'hex'],
    ['cacert', 'cacert'], ['cert', 'cert'], ['key', 'key'], ['insecureSkipTlsVerify', 'insecure-skip-tls-verify'],
    ['user', 'user'], ['password', 'password'],
  ]) {
    const fromEnv = env[`ETCDCTL_${flag!.toUpperCase().replace(/-/g, '_')}`];
    if (fromEnv !== undefined && cmd.getOptionValueSourceWithGlobals(key!) !== 'cli') {
      o[key!] = fromEnv;
      if (key === 'commandTimeout') commandTimeoutSet = true;
    }
  }
  return {
    endpoints: String(o.endpoints).split(',').map((e) => e.trim()).filter((e) => e !== ''),
    dialTimeoutMs: durationFlag(String(o.dialTimeout)),
    commandTimeoutMs: durationFlag(String(o.commandTimeout)),
    commandTimeoutSet,
    writeOut: String(o.writeOut),
    hex: o.hex === true || o.hex === 'true',
    ...(o.cacert === undefined ? {} : { cacert: String(o.cacert) }),
    ...(o.cert === undefined ? {} : { cert: String(o.cert) }),
    ...(o.key === undefined ? {} : { key: String(o.key) }),
    insecureSkipTlsVerify: o.insecureSkipTlsVerify === true || o.insecureSkipTlsVerify === 'true',
    ...(o.user === undefined ? {} : { user: String(o.user) }),
    ...(o.password === undefined ? {} : { password: String(o.password) }),
  };
}

/** The exit code and `Error:` text for whatever ended the command (undefined: print nothing). */
function failure(err: unknown): [number, string | undefined] {
  if (err instanceof CtlError) return [err.exitCode, err.message === '' ? undefined : err.message];
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return [0, undefined];
    return [ExitCode.Error, cobraMessage(err)];
  }
  return [ExitCode.Error, errorText(err)];
}

/** Commander's parse errors in the words cobra and pflag use, which etcdctl users know. */
function cobraMessage(err: CommanderError): string {
  const text = err.message.replace(/^error: /, '');
  let m = /unknown option '([^']+)'/.exec(text);
  if (m) return `unknown flag: ${m[1]}`;
  m = /unknown command '([^']+)'/.exec(text);
  if (m) return `unknown command "${m[1]}" for "keelctl"`;
  m = /option '(-\w, )?(--[\w-]+)[^']*' argument '(.*)' is invalid\. (.*)/.exec(text);
  if (m) return `invalid argument "${m[3]}" for "${m[2]}" flag: ${m[4]}`;
  m = /option '(-\w, )?(--[\w-]+)[^']*' argument missing/.exec(text);
  if (m) return `flag needs an argument: ${m[2]}`;
  return text;
}
