import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { spawnReaped } from './reaped-spawn';

/** A compiled binary of src/cmd, beside the tests in dist/: `keel-apiserver`, `keel-scheduler`… */
export const binPath = (name: string) => join(__dirname, '..', '..', 'src', 'cmd', `${name}.js`);

/** A control-plane binary started by a test or benchmark. */
export interface ComponentProcess {
  process: ChildProcess;
  /** The match of the line that said it was up. */
  ready: RegExpExecArray;
  /** Everything it printed so far, stdout and stderr interleaved. */
  output(): string;
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL, then wait for the exit. */
  kill9(): Promise<void>;
}

/** Runs `node dist/src/cmd/<name>.js args…` and resolves once a line it prints matches `ready`. */
export function startComponentProcess(name: string, args: string[], ready: RegExp): Promise<ComponentProcess> {
  const child = spawnReaped(process.execPath, [binPath(name), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signalAndWait = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  let out = '';
  return new Promise((resolve, reject) => {
    let up = false;
    const seen = (d: Buffer) => {
      out += d.toString();
      const m = up ? null : ready.exec(out);
      if (m === null) return;
      up = true;
      resolve({ process: child, ready: m, output: () => out, stop: () => signalAndWait('SIGTERM'), kill9: () => signalAndWait('SIGKILL') });
    };
    child.stdout!.on('data', seen);
    child.stderr!.on('data', seen);
    void exited.then(() => up || reject(new Error(`${name} exited before it was up:\n${out}`)));
  });
}
