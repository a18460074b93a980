import { pino, type Logger, type Level } from 'pino';

export type { Logger };

/** Log field names are constants so every line uses the same keys. */
export const F = {
  router: 'router',
  service: 'service',
  middleware: 'middleware',
  provider: 'provider',
  entryPoint: 'entryPoint',
  server: 'server',
  file: 'file',
} as const;

const LEVELS: Record<string, Level | 'silent'> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  fatal: 'fatal',
  panic: 'fatal',
  silent: 'silent',
  off: 'silent',
};

/** Traefik's log levels (DEBUG, INFO, WARN, ERROR, FATAL, PANIC) mapped to pino's. */
export function toPinoLevel(level: string | undefined): Level | 'silent' {
  return LEVELS[(level ?? 'info').toLowerCase()] ?? 'info';
}

/** A logger writing JSON lines to `destination`: a stream (default stderr) or a file path (appended, asynchronously). */
export function createLogger(level = 'info', destination: NodeJS.WritableStream | string | null = process.stderr): Logger {
  const dest =
    typeof destination === 'string' ? pino.destination({ dest: destination, mkdir: true, sync: false }) : (destination ?? process.stderr);
  return pino(
    {
      level: toPinoLevel(level),
      base: { pid: process.pid },
      // Never log credentials, even if a caller passes a header object by mistake.
      redact: {
        paths: [
          '*.authorization',
          '*.cookie',
          '*.password',
          '*.secret',
          '*.clientSecret',
          '*.token',
          'headers.authorization',
          'headers.cookie',
        ],
        censor: '[redacted]',
      },
    },
    dest as unknown as pino.DestinationStream,
  );
}

/** A logger that drops everything (tests, `check`). */
export const silentLogger: Logger = pino({ level: 'silent' });
