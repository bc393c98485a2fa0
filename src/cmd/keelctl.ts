#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { runKeelctl } from '../ctl/program';
import { processOutput } from '../ctl/output';
import { restoreSnapshot } from '../server/snapshot-restore';
import { createLogger } from './pino-logger';

/** The `keelctl` binary: etcdctl's v3 command line for Keel (and any etcd). */
async function main(): Promise<void> {
  // grpc-js sends an IP endpoint as the TLS server name, which Node flags as deprecated on every
  // run; a command-line tool's stderr is for its own errors.
  process.noDeprecation = true;
  const code = await runKeelctl(process.argv.slice(2), {
    output: processOutput,
    readStdin: async () => {
      // An interactive terminal has no piped value to offer; etcdctl reads nothing from it either.
      if (process.stdin.isTTY) return Buffer.alloc(0);
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    stdinLines: () => createInterface({ input: process.stdin, crlfDelay: Infinity }),
    interrupted: () => new Promise((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    }),
    env: process.env,
    // Logs on stderr in keel's own format, as etcdctl 3.4's restore logs in etcd's.
    readFile: (path) => readFileSync(path),
    restoreSnapshot: (request) => restoreSnapshot(request, createLogger('info')),
  });
  process.exit(code);
}

void main();
