import { Option } from 'commander';
import type { Permission__Output } from '../generated/authpb/Permission';
import { CtlCommand, leaf } from './command';
import type { CtlContext } from './context';
import { CtlError, ExitCode } from './exit';
import { prefixRangeEnd } from '../client/key-ranges';
import { keyRange } from './get-command';

/** Answers printed as etcdctl 3.4's simple printer prints them. */
const say = (ctx: CtlContext, line: string) => ctx.out.out(`${line}\n`);

/** A password from the argument (name:password), else the first word of standard input (--interactive=false). */
async function nameAndPassword(ctx: CtlContext, arg: string): Promise<[string, string]> {
  const colon = arg.indexOf(':');
  if (colon >= 0) {
    if (colon === 0) throw new CtlError(ExitCode.BadArgs, 'empty user name is not allowed');
    return [arg.slice(0, colon), arg.slice(colon + 1)];
  }
  return [arg, await firstWord(ctx)];
}

/** What Go's fmt.Scanf("%s") reads: the first whitespace-delimited word of standard input. */
async function firstWord(ctx: CtlContext): Promise<string> {
  return (await ctx.io.readStdin()).toString('utf8').trim().split(/\s+/)[0] ?? '';
}

/**
 * etcdctl's `--no-password` (a user that never logs in with a password, for CN-based auth). Commander
 * reads any `--no-x` flag as the negation of `--x`; this one is a flag of its own, named noPassword.
 */
function noPasswordOption(): Option {
  const option = new Option('--no-password', 'Create a user without password (CN based auth only)');
  option.negate = false;
  option.defaultValue = false;
  return option;
}

function interactiveOnly(opts: Record<string, unknown>): void {
  // keelctl never prompts on a terminal; scripts use name:password or --interactive=false.
  if (opts.interactive !== 'false') throw new CtlError(ExitCode.BadArgs, 'interactive password prompts are not supported: use --interactive=false and give the password on stdin');
}

/** etcdctl's role get: each permission as a key, a [key, end) range, or an open-ended range. */
function printPermissions(ctx: CtlContext, role: string, perms: Permission__Output[]): void {
  say(ctx, `Role ${role}`);
  const line = (p: Permission__Output) => {
    const [key, end] = [Buffer.from(p.key).toString('latin1'), Buffer.from(p.range_end).toString('latin1')];
    const range = end === '' ? `\t${key}` : end === '\0' ? `\t[${key}, <open ended>` : `\t[${key}, ${end})`;
    const prefix = key !== '' && end !== '' && prefixRangeEnd(p.key).equals(Buffer.from(p.range_end)) ? ` (prefix ${key})` : '';
    return `${range}${prefix}`;
  };
  say(ctx, 'KV Read:');
  for (const p of perms) if (p.permType === 'READ' || p.permType === 'READWRITE') say(ctx, line(p));
  say(ctx, 'KV Write:');
  for (const p of perms) if (p.permType === 'WRITE' || p.permType === 'READWRITE') say(ctx, line(p));
}

/** [key, end) from role grant/revoke-permission's arguments and --prefix / --from-key. */
function permissionRange(args: string[], opts: Record<string, unknown>): { key: Buffer; range_end: Buffer } {
  if (opts.prefix && opts.fromKey) throw new CtlError(ExitCode.BadArgs, '--from-key and --prefix flags are mutually exclusive');
  if ((opts.prefix || opts.fromKey) && args.length > 1) throw new CtlError(ExitCode.BadArgs, `unexpected endkey argument with --${opts.prefix ? 'prefix' : 'from-key'} flag`);
  const [key, end] = keyRange(args, Boolean(opts.prefix), Boolean(opts.fromKey));
  return { key, range_end: end ?? Buffer.alloc(0) };
}

const PERM_TYPES: Record<string, 'READ' | 'WRITE' | 'READWRITE'> = { read: 'READ', write: 'WRITE', readwrite: 'READWRITE' };

export const authCommands: CtlCommand = {
  register(program, bind) {
    const auth = program.command('auth').description('Enable or disable authentication');
    leaf(auth, 'enable', 'Enables authentication').action(bind(async (ctx, args) => {
      if (args.length !== 0) throw new CtlError(ExitCode.BadArgs, 'auth enable does not take any argument');
      const client = await ctx.client();
      // As etcdctl: the root user gets the root role it needs, created on the way if missing.
      for (;;) {
        try {
          await client.authCall('AuthEnable', {});
          break;
        } catch (err) {
          if (!String((err as { details?: string }).details).includes('root user does not have root role')) throw err;
          await client.authCall('RoleAdd', { name: 'root' }).catch(() => undefined);
          await client.authCall('UserGrantRole', { user: 'root', role: 'root' });
        }
      }
      say(ctx, 'Authentication Enabled');
    }));
    leaf(auth, 'disable', 'Disables authentication').action(bind(async (ctx, args) => {
      if (args.length !== 0) throw new CtlError(ExitCode.BadArgs, 'auth disable does not take any argument');
      await (await ctx.client()).authCall('AuthDisable', {});
      say(ctx, 'Authentication Disabled');
    }));

    const user = program.command('user').description('User related commands');
    leaf(user, 'add', 'Adds a new user')
      .option('--interactive <bool>', 'Read password from stdin instead of interactive terminal', 'true')
      .addOption(noPasswordOption())
      .action(bind(async (ctx, args, opts) => {
        if (args.length !== 1) throw new CtlError(ExitCode.BadArgs, 'user add command requires user name as its argument');
        if (opts.noPassword === true) {
          // As etcdctl: the whole argument is the name (a colon included) and no password is read.
          await (await ctx.client()).authCall('UserAdd', { name: args[0]!, password: '', options: { no_password: true } });
          say(ctx, `User ${args[0]} created`);
          return;
        }
        if (!args[0]!.includes(':')) interactiveOnly(opts);
        const [name, password] = await nameAndPassword(ctx, args[0]!);
        await (await ctx.client()).authCall('UserAdd', { name, password });
        say(ctx, `User ${name} created`);
      }));
    leaf(user, 'delete', 'Deletes a user').action(bind(async (ctx, args) => {
      if (args.length !== 1) throw new CtlError(ExitCode.BadArgs, 'user delete command requires user name as its argument');
      await (await ctx.client()).authCall('UserDelete', { name: args[0]! });
      say(ctx, `User ${args[0]} deleted`);
    }));
    leaf(user, 'get', 'Gets detailed information of a user').action(bind(async (ctx, args) => {
      if (args.length !== 1) throw new CtlError(ExitCode.BadArgs, 'user get command requires user name as its argument');
      const resp = await (await ctx.client()).authCall('UserGet', { name: args[0]! });
      say(ctx, `User: ${args[0]}`);
      say(ctx, `Roles:${resp.roles.map((r) => ` ${r}`).join('')}`); // etcdctl: "Roles:" then " role" per role
    }));
    leaf(user, 'list', 'Lists all users').action(bind(async (ctx, args) => {
      if (args.length !== 0) throw new CtlError(ExitCode.BadArgs, 'user list command requires no arguments');
      for (const name of (await (await ctx.client()).authCall('UserList', {})).users) say(ctx, name);
    }));
    leaf(user, 'passwd', 'Changes password of user')
      .option('--interactive <bool>', 'If true, read password in interactive terminal', 'true')
      .action(bind(async (ctx, args, opts) => {
        if (args.length !== 1) throw new CtlError(ExitCode.BadArgs, 'user passwd command requires user name as its argument');
        interactiveOnly(opts);
        await (await ctx.client()).authCall('UserChangePassword', { name: args[0]!, password: await firstWord(ctx) });
        say(ctx, 'Password updated');
      }));
    leaf(user, 'grant-role', 'Grants a role to a user').action(bind(async (ctx, args) => {
      if (args.length !== 2) throw new CtlError(ExitCode.BadArgs, 'user grant command requires user name and role name as its argument');
      await (await ctx.client()).authCall('UserGrantRole', { user: args[0]!, role: args[1]! });
      say(ctx, `Role ${args[1]} is granted to user ${args[0]}`);
    }));
    leaf(user, 'revoke-role', 'Revokes a role from a user').action(bind(async (ctx, args) => {
      if (args.length !== 2) throw new CtlError(ExitCode.BadArgs, 'user revoke-role requires user name and role name as its argument');
      await (await ctx.client()).authCall('UserRevokeRole', { name: args[0]!, role: args[1]! });
      say(ctx, `Role ${args[1]} is revoked from user ${args[0]}`);
    }));

    const role = program.command('role').description('Role related commands');
    leaf(role, 'add', 'Adds a new role').action(bind(async (ctx, args) => {
      if (args.length !== 1) throw new CtlError(ExitCode.BadArgs, 'role add command requires role name as its argument');
      await (await ctx.client()).authCall('RoleAdd', { name: args[0]! });
      say(ctx, `Role ${args[0]} created`);
    }));
    leaf(role, 'delete', 'Deletes a role').action(bind(async (ctx, args) => {
      if (args.length !== 1) throw new CtlError(ExitCode.BadArgs, 'role delete command requires role name as its argument');
      await (await ctx.client()).authCall('RoleDelete', { role: args[0]! });
      say(ctx, `Role ${args[0]} deleted`);
    }));
    leaf(role, 'get', 'Gets detailed information of a role').action(bind(async (ctx, args) => {
      if (args.length !== 1) throw new CtlError(ExitCode.BadArgs, 'role get command requires role name as its argument');
      printPermissions(ctx, args[0]!, (await (await ctx.client()).authCall('RoleGet', { role: args[0]! })).perm);
    }));
    leaf(role, 'list', 'Lists all roles').action(bind(async (ctx, args) => {
      if (args.length !== 0) throw new CtlError(ExitCode.BadArgs, 'role list command requires no arguments');
      for (const name of (await (await ctx.client()).authCall('RoleList', {})).roles) say(ctx, name);
    }));
    leaf(role, 'grant-permission', 'Grants a key to a role')
      .option('--prefix', 'grant a prefix permission')
      .option('--from-key', 'grant a permission of keys that are greater than or equal to the given key using byte compare')
      .action(bind(async (ctx, args, opts) => {
        if (args.length < 3) throw new CtlError(ExitCode.BadArgs, 'role grant command requires role name, permission type, and key [endkey] as its argument');
        const permType = PERM_TYPES[args[1]!.toLowerCase()];
        if (permType === undefined) throw new CtlError(ExitCode.BadArgs, `invalid permission type ${args[1]}`);
        const range = permissionRange(args.slice(2), opts);
        await (await ctx.client()).authCall('RoleGrantPermission', { name: args[0]!, perm: { permType, ...range } });
        say(ctx, `Role ${args[0]} updated`);
      }));
    leaf(role, 'revoke-permission', 'Revokes a key from a role')
      .option('--prefix', 'revoke a prefix permission')
      .option('--from-key', 'revoke a permission of keys that are greater than or equal to the given key using byte compare')
      .action(bind(async (ctx, args, opts) => {
        if (args.length < 2) throw new CtlError(ExitCode.BadArgs, 'role revoke-permission command requires role name and key [endkey] as its argument');
        const range = permissionRange(args.slice(1), opts);
        await (await ctx.client()).authCall('RoleRevokePermission', { role: args[0]!, ...range });
        const end = range.range_end.toString('latin1');
        say(ctx, end === '' ? `Permission of key ${args[1]} is revoked from role ${args[0]}`
          : `Permission of range [${args[1]}, ${end === '\0' ? '<open ended>' : end}) is revoked from role ${args[0]}`);
      }));
  },
};
