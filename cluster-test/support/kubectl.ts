import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { kubeconfig } from '../../src/cmd/kubeconfig';

/** The machine image's kubectl (a dispatcher that runs the release matching the server's /version). */
export const KUBECTL_BIN = '/usr/bin/kubectl';

export function kubectlInstalled(): boolean {
  return existsSync(KUBECTL_BIN);
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** kubectl pointed at one apiserver through a kubeconfig and discovery cache of its own in `dir`. */
export class Kubectl {
  private constructor(private readonly dir: string) {}

  static async forServer(dir: string, serverUrl: string): Promise<Kubectl> {
    await writeFile(join(dir, 'kubeconfig'), kubeconfig(serverUrl));
    return new Kubectl(dir);
  }

  private env(): NodeJS.ProcessEnv {
    // A private discovery cache: a shared one would hide discovery from the server under test.
    return { ...process.env, KUBECONFIG: join(this.dir, 'kubeconfig'), KUBECACHEDIR: join(this.dir, 'cache') };
  }

  /** Runs one command to its end; `stdin` is piped in (for `-f -`). */
  run(args: string[], stdin?: string): Promise<KubectlResult> {
    return new Promise((resolve) => {
      const child = execFile(KUBECTL_BIN, args, { env: this.env(), timeout: 20_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      });
      child.stdin!.end(stdin ?? '');
    });
  }

  /** Runs one command that must succeed and gives its stdout; a failure fails the test with kubectl's stderr. */
  async ok(args: string[], stdin?: string): Promise<string> {
    const r = await this.run(args, stdin);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  }

  /** Starts a command that runs until stopped (`get -w`); its output so far is in `output()`. */
  start(args: string[]): { process: ChildProcess; output(): string; exited: Promise<void> } {
    const child = spawn(KUBECTL_BIN, args, { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return { process: child, output: () => out, exited };
  }
}
