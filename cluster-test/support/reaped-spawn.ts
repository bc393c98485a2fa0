import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** Long-running children (members, apiservers) started by this process and still alive. */
const alive = new Set<ChildProcess>();

// A test run or chaos run that ends abruptly (an uncaught error, a timeout, Ctrl-C) must not leave
// members behind: one that lives on keeps dialing its peers' ports, which later runs reuse. SIGKILL
// also ends a member that was paused with SIGSTOP, which would ignore SIGTERM.
process.once('exit', () => {
  for (const child of alive) {
    try {
      process.kill(-child.pid!, 'SIGKILL'); // the child's whole process group: what it started dies too
    } catch {
      // the group is gone already
    }
  }
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => process.exit(128 + (signal === 'SIGINT' ? 2 : 15)));
}

/**
 * `spawn`, with the child and everything it starts killed when this process exits, however it
 * exits (short of SIGKILL). The child leads a process group of its own for that; it also keeps a
 * terminal's Ctrl-C from reaching it before this process has decided what to do.
 */
export function spawnReaped(command: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, { ...options, detached: true });
  alive.add(child);
  // Once the child itself exits, what it started is its own business (a member's stop is clean).
  child.once('exit', () => alive.delete(child));
  return child;
}
