import { pino, type Logger, type Level, type Bindings, type ChildLoggerOptions, type LogFn } from 'pino';

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

/*
 * Each key once per line. pino writes a child's bindings after its parent's
 * and the merging object after both, without looking for repeats, so
 * `log.child({ provider: 'file' }).child({ provider: 'file' })` or
 * `log.error({ pid: worker.pid })` on a logger bound to `pid` printed the key
 * twice (JSON parsers then keep one value silently). Here a child is always
 * made from a binding-free core logger with its parent's bindings merged with
 * its own (the inner value wins, in the parent's position), and a log call
 * whose object repeats a bound key drops it when equal; when it differs the
 * line is written by a one-off logger without that binding (the call's value
 * wins, as JSON.parse would have decided).
 */
const bound = new WeakMap<Logger, Bindings>();

/** Every binding of a logger made here (pino's `bindings()` leaves out `pid` and `hostname`). */
function bindingsOf(l: Logger): Bindings {
  return bound.get(l) ?? {};
}

function uniqueKeys(core: Logger, l: Logger, bindings: Bindings): Logger {
  bound.set(l, bindings);
  const child = (b: Bindings, opts?: ChildLoggerOptions<never>): Logger => {
    const merged = { ...bindings, ...b };
    const c = core.child(merged, opts);
    if (opts?.level === undefined) c.level = l.level;
    return uniqueKeys(core, c, merged);
  };
  Object.defineProperty(l, 'child', { value: child, writable: true, configurable: true });
  return l;
}

function logMethodHook(core: () => Logger) {
  return function (this: Logger, args: Parameters<LogFn>, method: LogFn): void {
    const o: unknown = args[0];
    if (o === null || typeof o !== 'object' || o instanceof Error) return method.apply(this, args);
    const b = bindingsOf(this);
    let obj: Record<string, unknown> | null = null;
    let rest: Bindings | null = null;
    for (const k of Object.keys(o)) {
      if (!Object.prototype.hasOwnProperty.call(b, k)) continue;
      const v = (o as Record<string, unknown>)[k];
      obj ??= { ...(o as Record<string, unknown>) };
      if (!(Object.is(v, b[k]) || JSON.stringify(v) === JSON.stringify(b[k]))) {
        rest ??= { ...b };
        delete rest[k];
      } else delete obj[k];
    }
    if (obj === null) return method.apply(this, args);
    const rewritten = [obj, ...args.slice(1)] as Parameters<LogFn>;
    if (rest === null) return method.apply(this, rewritten);
    method.apply(core().child(rest), rewritten);
  };
}

/** A logger writing JSON lines to `destination`: a stream (default stderr) or a file path (appended, asynchronously). */
export function createLogger(level = 'info', destination: NodeJS.WritableStream | string | null = process.stderr): Logger {
  const dest =
    typeof destination === 'string' ? pino.destination({ dest: destination, mkdir: true, sync: false }) : (destination ?? process.stderr);
  let core: Logger | null = null;
  core = pino(
    {
      level: toPinoLevel(level),
      // No base bindings on the core: `pid` is bound by a child, so every binding can be merged (above).
      base: null,
      hooks: { logMethod: logMethodHook(() => core as Logger) },
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
  const base = { pid: process.pid };
  return uniqueKeys(core, core.child(base), base);
}

/** A logger that drops everything (tests, `check`). */
export const silentLogger: Logger = pino({ level: 'silent' });
