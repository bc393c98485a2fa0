import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import type { KubeObject } from '../kube-object';
import { kubeTime as now } from '../kube-time';

/** A container's state in Kubernetes' terms. */
export type ContainerState =
  | { running: { startedAt: string } }
  | { waiting: { reason: string; message?: string } }
  | { terminated: { exitCode: number; signal?: number; reason: string; message?: string; startedAt: string; finishedAt: string } };


/** What a container runs: its command, then its args; with no command the first arg is the program (there is no image). */
export function commandLine(container: KubeObject): string[] {
  const command: string[] = container.command ?? [];
  const args: string[] = container.args ?? [];
  return [...command, ...args];
}

/** The container's environment: the kubelet's PATH and HOME, then the pod's `env` name/value pairs. */
export function containerEnv(container: KubeObject): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  for (const e of (container.env ?? []) as Array<{ name: string; value?: string }>) env[e.name] = e.value ?? '';
  return env;
}

/**
 * One run of a container as a local process in a process group of its own (so a signal reaches
 * everything it started), stdout and stderr appended to its log file.
 */
export class ContainerProcess {
  readonly startedAt = now();
  private readonly child: ChildProcess;
  /** Its group has been killed: the pid may now name someone else's group. */
  private ended = false;
  readonly exited: Promise<ContainerState>;

  /** Throws when the process cannot be created at all (no command, no log file); a program that will not run ends `exited` with StartError. */
  constructor(container: KubeObject, logFile: string, cwd: string) {
    const [program, ...args] = commandLine(container);
    // An image would supply the entrypoint; there is none here, so the container cannot be created.
    if (program === undefined) throw new Error('no command specified');
    mkdirSync(cwd, { recursive: true });
    const fd = openSync(logFile, 'a');
    try {
      this.child = spawn(program, args, { cwd: container.workingDir ?? cwd, env: containerEnv(container), stdio: ['ignore', fd, fd], detached: true });
    } finally {
      closeSync(fd);
    }
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => resolve({ terminated: { exitCode: 128, reason: 'StartError', message: err.message, startedAt: this.startedAt, finishedAt: now() } }));
      this.child.once('exit', (code, signal) => {
        // The container ends with its main process, as a pid namespace does when its init exits:
        // whatever it started goes too, so nothing outlives a restart or the pod.
        this.signal('SIGKILL');
        this.ended = true;
        const exitCode = code ?? 128 + (signal ? osSignal(signal) : 0);
        resolve({ terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: this.startedAt, finishedAt: now(), ...(signal ? { signal: osSignal(signal) } : {}) } });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Signals the whole process group until it has been ended; a group already gone is fine. */
  signal(sig: NodeJS.Signals): void {
    if (this.child.pid === undefined || this.ended) return;
    try {
      process.kill(-this.child.pid, sig);
    } catch {
      // already exited
    }
  }
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGQUIT: 3, SIGABRT: 6, SIGSEGV: 11, SIGPIPE: 13 };

function osSignal(signal: NodeJS.Signals): number {
  return SIGNALS[signal] ?? 0;
}
