import { Command, InvalidArgumentError } from 'commander';
import type { CtlContext } from './context';

/** What a command does once its arguments and options are parsed. */
export type Action = (ctx: CtlContext, args: string[], opts: Record<string, unknown>) => Promise<void>;

/** Turns an Action into a commander action (the program supplies context and error handling). */
export type Bind = (action: Action) => (...commanderArgs: unknown[]) => Promise<void>;

/**
 * One keelctl command or command group. A command adds itself to the program; commands.ts lists
 * them all, so adding a command is its file plus one line there.
 */
export interface CtlCommand {
  register(program: Command, bind: Bind): void;
}

/** A leaf command that takes its operands as a list and checks them itself, as etcdctl does. */
export function leaf(parent: Command, name: string, description: string): Command {
  return parent.command(name).description(description).argument('[args...]');
}

/** pflag's int64 flag value: decimal, with Go's strconv error text. */
export function int64Flag(value: string): number {
  if (!/^[+-]?\d+$/.test(value)) throw new InvalidArgumentError(`strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
  return Number(value);
}
