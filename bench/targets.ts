import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemberProcess, startEtcd, startKeel } from '../cluster-test/support/member-process';

export const SYSTEMS = ['keel', 'etcd'] as const;
export type System = (typeof SYSTEMS)[number];

/** A fresh one-member server of one system, on loopback, with its own temporary data dir. */
export interface Target {
  system: System;
  /** host:port of the client API. */
  endpoint: string;
  port: number;
  /** The server's own process, for reading its CPU time from /proc. */
  pid: number;
  /** SIGTERM, wait for the exit, then delete the data dir. */
  stop(): Promise<void>;
}

/**
 * Starts the server in a new temp dir so no run inherits another's data. If it fails to start, the
 * dir is left in place: the error names its log file.
 */
export async function startTarget(system: System): Promise<Target> {
  const baseDir = await mkdtemp(join(tmpdir(), `keel-bench-${system}-`));
  const member: MemberProcess = system === 'keel' ? await startKeel({ baseDir }) : await startEtcd({ baseDir });
  return {
    system,
    endpoint: member.endpoint,
    port: Number(member.endpoint.slice(member.endpoint.lastIndexOf(':') + 1)),
    pid: member.process.pid!,
    stop: async () => {
      await member.stop();
      await rm(baseDir, { recursive: true, force: true });
    },
  };
}
