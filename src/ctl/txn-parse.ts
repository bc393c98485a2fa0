import { Command } from 'commander';
import type { Compare } from '../generated/etcdserverpb/Compare';
import type { RequestOp } from '../generated/etcdserverpb/RequestOp';
import { CtlError, ExitCode } from './exit';
import { defineDelOptions, delRequest } from './del-command';
import { defineGetOptions, getRequest } from './get-command';
import { definePutOptions, putRequest } from './put-command';

/**
 * etcdctl's txn input language: compares such as `value("k") = "v"`, `mod("k") > "3"`, and
 * operation lines that are put/get/del command lines with their own flags.
 */

/** Go's `%q` scan: a double-quoted Go string literal at the start of `s`; its value and the rest. */
function scanQuoted(s: string): [string, string] | undefined {
  const m = /^\s*("(?:[^"\\]|\\.)*")/.exec(s);
  if (!m) return undefined;
  try {
    return [JSON.parse(m[1]!) as string, s.slice(m[0].length)];
  } catch {
    return undefined;
  }
}

const TARGETS: Record<string, Compare['target']> = {
  ver: 'VERSION', version: 'VERSION', c: 'CREATE', create: 'CREATE', m: 'MOD', mod: 'MOD', val: 'VALUE', value: 'VALUE', lease: 'LEASE',
};
const RESULTS: Record<string, Compare['result']> = { '=': 'EQUAL', '==': 'EQUAL', '!=': 'NOT_EQUAL', '>': 'GREATER', '<': 'LESS' };

/** One compare line; errors are etcdctl's texts, exit 3 like all txn input errors. */
export function parseCompare(line: string): Compare {
  const paren = line.indexOf('(');
  if (paren < 0) throw new CtlError(ExitCode.InvalidInput, `malformed comparison: ${line}`);
  const target = line.slice(0, paren);
  const key = scanQuoted(line.slice(paren + 1));
  const opMatch = key && /^\)\s+(\S+)/.exec(key[1]);
  const val = opMatch && scanQuoted(key![1].slice(opMatch[0].length));
  if (!key || !opMatch || !val) throw new CtlError(ExitCode.InvalidInput, `malformed comparison: ${line}; got ${target}(${JSON.stringify(key?.[0] ?? '')}) ${opMatch?.[1] ?? ''} ""`);
  const t = TARGETS[target];
  if (t === undefined) throw new CtlError(ExitCode.InvalidInput, `malformed comparison: ${line} (unknown target ${target})`);
  const result = RESULTS[opMatch[1]!];
  if (result === undefined) throw new CtlError(ExitCode.InvalidInput, `Unknown compare type ${opMatch[1]}`);
  const cmp: Compare = { target: t, result, key: Buffer.from(key[0]) };
  const v = val[0];
  if (t === 'VALUE') return { ...cmp, value: Buffer.from(v) };
  if (!/^[+-]?\d+$/.test(v)) throw new CtlError(ExitCode.InvalidInput, `invalid txn compare request: ${line}`);
  if (t === 'VERSION') return { ...cmp, version: v };
  if (t === 'CREATE') return { ...cmp, create_revision: v };
  if (t === 'MOD') return { ...cmp, mod_revision: v };
  return { ...cmp, lease: v };
}

/** etcdctl's argify: words, "double-quoted Go strings" and 'single-quoted strings'. */
export function argify(line: string): string[] {
  const re = /"(?:[^"\\]|\\.)*"|'[^']*'|[^'"\s]\S*[^'"\s]?/g;
  return (line.match(re) ?? []).map((a) => {
    if (a.startsWith("'")) return a.slice(1, -1);
    if (a.startsWith('"')) return scanQuoted(a)?.[0] ?? a;
    return a;
  });
}

/** One operation line (`put k v`, `get k --prefix`, `del k`) as a RequestOp. */
export function parseOperation(line: string): RequestOp {
  const args = argify(line);
  const invalid = () => new CtlError(ExitCode.InvalidInput, `invalid txn request: ${line}`);
  if (args.length < 2) throw new CtlError(ExitCode.InvalidInput, `invalid txn compare request: ${line}`);
  let op: RequestOp | undefined;
  const parser = new Command('txn').exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  definePutOptions(parser.command('put').argument('[args...]')).action((a: string[], o: Record<string, unknown>) => {
    op = { request_put: putRequest(a, o) };
  });
  defineGetOptions(parser.command('get').argument('[args...]')).action((a: string[], o: Record<string, unknown>) => {
    op = { request_range: getRequest(a, o) };
  });
  defineDelOptions(parser.command('del').argument('[args...]')).action((a: string[], o: Record<string, unknown>) => {
    op = { request_delete_range: delRequest(a, o) };
  });
  parser.commands.forEach((c) => c.exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined }));
  try {
    parser.parse(args, { from: 'user' });
  } catch (err) {
    // A bad operation exits as etcdctl's does from inside its own command (e.g. 128), else 3.
    if (err instanceof CtlError) throw err;
    throw invalid();
  }
  if (op === undefined) throw invalid();
  return op;
}
