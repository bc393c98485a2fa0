/**
 * Where keelctl writes. Commands and printers never touch process.stdout themselves, so unit tests
 * can capture exactly the bytes a command prints (keys and values are raw bytes, not text).
 */
export interface Output {
  out(chunk: string | Uint8Array): void;
  err(chunk: string | Uint8Array): void;
}

/** The real streams; on Linux, writes to pipes and files are synchronous, so exit() loses nothing. */
export const processOutput: Output = {
  out: (chunk) => void process.stdout.write(chunk),
  err: (chunk) => void process.stderr.write(chunk),
};

/** An Output that keeps everything, for tests. */
export class CapturedOutput implements Output {
  private readonly stdout: Buffer[] = [];
  private readonly stderr: Buffer[] = [];
  out(chunk: string | Uint8Array): void {
    this.stdout.push(Buffer.from(chunk));
  }
  err(chunk: string | Uint8Array): void {
    this.stderr.push(Buffer.from(chunk));
  }
  get stdoutText(): string {
    return Buffer.concat(this.stdout).toString('latin1');
  }
  get stderrText(): string {
    return Buffer.concat(this.stderr).toString('utf8');
  }
}
