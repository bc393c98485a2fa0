import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { spawnReaped } from './reaped-spawn';

/** The compiled keel-apiserver entry point, beside the tests in dist/. */
export const APISERVER_BIN = join(__dirname, '..', '..', 'src', 'cmd', 'keel-apiserver.js');

export interface ApiServerProcess {
  url: string;
  process: ChildProcess;
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<void>;
}

/** Starts `keel-apiserver` on a free loopback port and resolves with its URL once it listens. */
export function startApiServerProcess(etcdServers: string[]): Promise<ApiServerProcess> {
  const child = spawnReaped(process.execPath, [APISERVER_BIN, '--etcd-servers', etcdServers.join(','), '--listen-address', '127.0.0.1:0'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        resolve({
          url: m[1]!, process: child,
          stop: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            await exited;
          },
        });
      }
    });
    void exited.then(() => reject(new Error(`keel-apiserver exited before listening: ${err}`)));
  });
}
