/**
 * The logging interface every layer receives by injection. The composition root (src/cmd) backs it
 * with pino; tests use a silent or buffering one. Messages are short sentences, keys kebab-case.
 */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(bindings: LogFields): Logger;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/** A logger that keeps each message (for tests that check what a component said). */
export function recordingLogger(lines: string[] = []): Logger & { lines: string[]; fields: Array<LogFields | undefined> } {
  const fields: Array<LogFields | undefined> = [];
  const record = (msg: string, f?: LogFields) => {
    lines.push(msg);
    fields.push(f);
  };
  const logger = { debug: record, info: record, warn: record, error: record, child: () => logger, lines, fields };
  return logger;
}
