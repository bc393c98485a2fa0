import pino from 'pino';
import { Logger, LogFields } from '../util/logger';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** JSON lines on stderr, as etcd's zap logger writes them: level, time, message, then fields. */
export function createLogger(level: LogLevel, bindings: LogFields = {}): Logger {
  return wrap(pino({ level, base: bindings, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(2)));
}

function wrap(p: pino.Logger): Logger {
  return {
    debug: (msg, fields) => p.debug(fields ?? {}, msg),
    info: (msg, fields) => p.info(fields ?? {}, msg),
    warn: (msg, fields) => p.warn(fields ?? {}, msg),
    error: (msg, fields) => p.error(fields ?? {}, msg),
    child: (bindings) => wrap(p.child(bindings)),
  };
}
