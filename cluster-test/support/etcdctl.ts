import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** Debian's etcd-client installs the real etcdctl 3.4 here. */
export const ETCDCTL_BIN = '/usr/bin/etcdctl';

export interface CtlResult {
  /** etcdctl's exit code (1 server error, 2 connect, 3 txn parse, 4 format, 128 bad arguments). */
  code: number;
  stdout: string;
  stderr: string;
}

export interface CtlOptions {
  /** Written to etcdctl's stdin, which is then closed (txn reads its input from there). */
  stdin?: string;
  /** Kills etcdctl if it has not exited by then (an error); etcdctl's own --command-timeout is 5 s. */
  timeoutMs?: number;
  /**
   * For commands that run until stopped (watch, elect, lock): stop it this long after it first
   * prints, and return its output. Timed from its first output, not its start: keelctl, a Node
   * program, took up to 1.9 s to start on a loaded machine, and was stopped before it had said anything.
   */
  stopAfterMs?: number;
}

/** How long a command run with stopAfterMs may go without printing anything before it is stopped. */
const SILENT_STOP_MS = 10_000;

/**
 * Runs the real etcdctl with the v3 API against one endpoint (host:port) and returns what it printed.
 * It never rejects for a non-zero exit: the exit code is part of the behaviour under test.
 */
export function etcdctl(endpoint: string, args: string[], opts: CtlOptions = {}): Promise<CtlResult> {
  return runCtl(ETCDCTL_BIN, [], endpoint, args, opts);
}

/** The compiled keelctl entry point, beside the tests under dist/. */
export const KEELCTL_BIN = join(__dirname, '..', '..', 'src', 'cmd', 'keelctl.js');

/** Runs keelctl exactly as etcdctl() runs etcdctl, so the two can be compared. */
export function keelctl(endpoint: string, args: string[], opts: CtlOptions = {}): Promise<CtlResult> {
  return runCtl(process.execPath, [KEELCTL_BIN], endpoint, args, opts);
}

function runCtl(command: string, prefixArgs: string[], endpoint: string, args: string[], opts: CtlOptions): Promise<CtlResult> {
  return new Promise((resolve, reject) => {
    // Only the v3 API switch is passed on: an ETCDCTL_* variable in the caller's environment
    // (endpoints, credentials) must not change what the test runs.
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ETCDCTL_API: '3' };
    const child = spawn(command, [...prefixArgs, `--endpoints=${endpoint}`, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const stopAfterMs = opts.stopAfterMs;
    // A command stopped once it printed that never prints is stopped after the longest start.
    let timer = stopAfterMs !== undefined
      ? setTimeout(() => child.kill('SIGTERM'), SILENT_STOP_MS)
      : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15_000);
    let printed = false;
    const heard = () => {
      if (printed || stopAfterMs === undefined) return;
      printed = true;
      clearTimeout(timer);
      timer = setTimeout(() => child.kill('SIGTERM'), stopAfterMs);
    };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      heard();
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      heard();
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === null && signal === 'SIGTERM' && opts.stopAfterMs !== undefined) resolve({ code: 0, stdout, stderr });
      else if (code === null) reject(new Error(`${command} ${args.join(' ')} was killed by ${signal}; stderr: ${stderr}`));
      else resolve({ code, stdout, stderr });
    });
    // A command that does not read its input may exit before the write: EPIPE, unhandled otherwise.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.stdin ?? '');
  });
}
