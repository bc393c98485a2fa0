import type { ChildProcess } from 'node:child_process';
import { startComponentProcess } from './component-process';

export interface ApiServerProcess {
  url: string;
  process: ChildProcess;
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<void>;
}

/** Starts `keel-apiserver` on a free loopback port and resolves with its URL once it listens. */
export async function startApiServerProcess(etcdServers: string[]): Promise<ApiServerProcess> {
  const p = await startComponentProcess('keel-apiserver', ['--etcd-servers', etcdServers.join(','), '--listen-address', '127.0.0.1:0'], /listening on (http:\/\/\S+)/);
  return { url: p.ready[1]!, process: p.process, stop: p.stop };
}
