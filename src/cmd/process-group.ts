import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m', '\x1b[34m', '\x1b[31m'];
const RESET = '\x1b[0m';

/**
 * The processes of a local cluster run in the foreground, as a Procfile runner runs them: each
 * line they print goes to stdout prefixed with its process's name (JSON log lines made readable),
 * Ctrl-C or SIGTERM stops them all with SIGTERM, and this process exits once every child has.
 * The exit code is 0 after a requested stop, 1 if the last child went by itself.
 */
export class ProcessGroup {
  private readonly children: ChildProcess[] = [];
  private stopping = false;
  private readonly width: number;

  constructor(names: string[]) {
    this.width = Math.max(...names.map((n) => n.length));
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => this.stop());
  }

  /** Starts `node script args…` under `name`; `onLine` sees each line it prints (to wait for a readiness line). */
  start(name: string, script: string, args: string[], onLine: (line: string) => void = () => {}): ChildProcess {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const color = COLORS[this.children.length % COLORS.length]!;
    const prefix = process.stdout.isTTY ? `${color}${name.padEnd(this.width)} |${RESET}` : `${name.padEnd(this.width)} |`;
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        console.log(`${prefix} ${readable(line)}`);
        onLine(line);
      });
    }
    child.on('exit', (code, signal) => {
      console.log(`${prefix} exited (${signal ?? `code ${code}`})`);
      // A process that dies on its own is left dead and the rest keep running, as on real
      // machines: what a crash does to the cluster is worth seeing (and fault tests cause it).
      if (!this.stopping) console.log(`${prefix} exited unexpectedly; the other processes keep running`);
      if (this.children.every((c) => c.exitCode !== null || c.signalCode !== null)) process.exit(this.stopping ? 0 : 1);
    });
    this.children.push(child);
    return child;
  }

  /** Stops every child with SIGTERM; the process exits once they all have. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    console.log('\nstopping every process...');
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    if (this.children.length === 0) process.exit(0);
  }
}

/** A JSON log line as "time LEVEL message key=value ..."; anything else as it is. */
export function readable(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof rec !== 'object' || rec === null) return line;
  const { level, time, msg, name, component, ...fields } = rec;
  void name;
  void component;
  const lvl = ({ 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR' } as Record<string, string>)[String(level)] ?? String(level);
  const rest = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
  return `${String(time).slice(11, 23)} ${lvl.padEnd(5)} ${String(msg)}${rest ? ` ${rest}` : ''}`;
}
