import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m', '\x1b[34m', '\x1b[31m'];
const RESET = '\x1b[0m';

/**
 * The processes of a local cluster run in the foreground, as a Procfile runner runs them: each
 * line they print goes to stdout prefixed with its process's name (JSON log lines made readable),
 * Ctrl-C or SIGTERM stops them all with SIGTERM, and this process exits once every child has.
 */
export class ProcessGroup {
  private readonly children: ChildProcess[] = [];
  private stopping = false;
  private exitCode = 0;
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
      if (!this.stopping) {
        console.log(`${name} stopped unexpectedly; stopping the rest`);
        this.stop(1);
      }
      if (this.children.every((c) => c.exitCode !== null || c.signalCode !== null)) process.exit(this.exitCode);
    });
    this.children.push(child);
    return child;
  }

  /** Stops every child with SIGTERM; the process exits once they all have. */
  stop(exitCode = 0): void {
    if (this.stopping) return;
    this.stopping = true;
    this.exitCode = exitCode;
    console.log('\nstopping every process...');
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    if (this.children.length === 0) process.exit(exitCode);
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
