import type { Logger } from '../registry/types.js';
import { DetkitError } from '../errors.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ConsoleLoggerOptions {
  /** Minimum level printed. Default: env DETKIT_LOG_LEVEL, else 'info'. */
  level?: LogLevel;
  /** Where lines go. Default: stderr, so stdout stays clean for command output (`detkit list --json`). */
  write?: (line: string) => void;
  /** Prefix each line with a HH:MM:SS timestamp. Default true. */
  timestamps?: boolean;
}

export interface ConsoleLogger extends Logger {
  readonly level: LogLevel;
}

/** Parses a level name (case-insensitive); fails naming the bad value and where it came from. */
export function parseLogLevel(value: string, source = 'DETKIT_LOG_LEVEL'): LogLevel {
  const v = value.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(v)) return v as LogLevel;
  throw new DetkitError(
    'INVALID_ARGUMENT',
    `${source}='${value}' is not a log level; use one of ${LOG_LEVELS.join(', ')}`,
  );
}

export function createConsoleLogger(options: ConsoleLoggerOptions = {}): ConsoleLogger {
  const envLevel = process.env.DETKIT_LOG_LEVEL;
  const level = options.level ?? (envLevel ? parseLogLevel(envLevel) : 'info');
  const threshold = LOG_LEVELS.indexOf(level);
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const stamps = options.timestamps ?? true;
  const emit = (lvl: LogLevel) => (msg: string) => {
    if (LOG_LEVELS.indexOf(lvl) < threshold) return;
    const time = stamps ? new Date().toTimeString().slice(0, 8) + ' ' : '';
    write(`${time}${lvl.padEnd(5)} ${msg}`);
  };
  return { level, debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** A logger that drops everything (tests, library use without output). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
