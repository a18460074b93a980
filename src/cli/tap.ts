/**
 * `gatehouse tap [--router R] [--service S] [--caller C] [--path P]
 * [--method M] [--authority A] [--status 5xx] [--slower-than 200ms]
 * [--max-rps N] [--headers] [-o json]`: live requests crossing the gateway,
 * one line per req/rsp/end event in Linkerd's tap format, or one JSON object
 * per line. Reads the admin API's Server-Sent Events stream.
 */
import { EXIT } from './exit-codes.js';
import { parseArgs } from 'node:util';
import { formatTapLine, type TapEvent } from '../observe/tap.js';
import { AdminError, adminSse } from './admin-client.js';
import { ADMIN_FLAGS, callerName, fetchCallerNames, targetFrom, type CallerNames, type Out } from './stat.js';

/**
 * A live `req` event is sent before routing and before the token check, so
 * its caller is the client address while the `rsp` of the same exchange names
 * the verified client. For the plain lines the CLI holds each `req` until the
 * `rsp` (or `end`) of its exchange and prints it with that event's caller,
 * router, service and server, so one exchange shows one caller. A `req` whose
 * response takes longer than `holdMs` is printed as it came, so the view stays
 * live for slow exchanges (its caller is then the one known at the start). At
 * most `max` are held. `-o json` prints the events as they come.
 */
export class ExchangePairer {
  readonly #held = new Map<string, { e: TapEvent; timer: NodeJS.Timeout | null }>();
  constructor(
    private readonly print: (e: TapEvent) => void,
    private readonly holdMs = 1000,
    private readonly max = 10_000,
  ) {}

  push(e: TapEvent): void {
    if (e.type === 'req') {
      const timer = this.holdMs > 0 ? setTimeout(() => this.release(e.id), this.holdMs) : null;
      timer?.unref();
      this.#held.set(e.id, { e, timer });
      if (this.#held.size > this.max) this.release(this.#held.keys().next().value as string);
      return;
    }
    const h = this.#held.get(e.id);
    if (h !== undefined) {
      this.#held.delete(e.id);
      if (h.timer !== null) clearTimeout(h.timer);
      this.print({ ...h.e, caller: e.caller, router: e.router, service: e.service, server: e.server });
    }
    this.print(e);
  }

  /** Print whatever is still held (the tap is ending). */
  flush(): void {
    for (const id of [...this.#held.keys()]) this.release(id);
  }

  private release(id: string): void {
    const h = this.#held.get(id);
    if (h === undefined) return;
    this.#held.delete(id);
    if (h.timer !== null) clearTimeout(h.timer);
    this.print(h.e);
  }
}

/** One plain line (Linkerd's tap format), the caller by its display name when it is a known client. */
export function tapLine(e: TapEvent, names: CallerNames): string {
  return formatTapLine(names.has(e.caller) ? { ...e, caller: callerName(e.caller, names) } : e);
}

export const TAP_USAGE = `usage: gatehouse tap [flags]

Live requests crossing the gateway (Ctrl-C to stop).

filters:
  --router NAME  --service NAME  --caller ID  --path PREFIX  --method M  --authority HOST
  --status 5xx|404          response status class or code
  --slower-than 200ms       only exchanges slower than this
flags:
  --max-rps N               at most N exchanges per second (default 100)
  --headers                 include request and response headers (sensitive ones redacted)
  -o, --output json         one JSON object per line
  --count N                 stop after N exchanges
  --duration 30s            stop after this long
  --admin URL               admin API of the running gateway
  --admin-auth-env VAR      basic-auth credentials "user:pass" from this variable

Each request line shows the caller, router and server of its response (it is
printed when the response starts, or after 1 s); callers by display name.
`;

function headerLines(e: TapEvent): string {
  const h = e.type === 'req' ? e.requestHeaders : e.type === 'rsp' ? e.responseHeaders : undefined;
  if (h === undefined) return '';
  let s = '';
  for (const [k, v] of Object.entries(h)) if (v !== undefined) s += `    ${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}\n`;
  return s;
}

export async function tapMain(
  argv: string[],
  env: NodeJS.ProcessEnv,
  out: Out,
  err: Out = process.stderr,
  signal?: AbortSignal,
): Promise<number> {
  let a;
  try {
    a = parseArgs({
      args: argv,
      options: {
        ...ADMIN_FLAGS,
        router: { type: 'string' },
        service: { type: 'string' },
        caller: { type: 'string' },
        path: { type: 'string' },
        method: { type: 'string' },
        authority: { type: 'string' },
        status: { type: 'string' },
        'slower-than': { type: 'string' },
        'max-rps': { type: 'string' },
        headers: { type: 'boolean' },
        output: { type: 'string', short: 'o' },
        count: { type: 'string' },
        duration: { type: 'string' },
      },
    });
  } catch (e) {
    err.write(`gatehouse tap: ${(e as Error).message}\n\n${TAP_USAGE}`);
    return EXIT.USAGE;
  }
  const v = a.values;
  if (v.help === true) {
    out.write(TAP_USAGE);
    return EXIT.OK;
  }
  if (v.output !== undefined && v.output !== 'json') {
    err.write(`gatehouse tap: -o: expected json, got "${v.output}"\n`);
    return EXIT.USAGE;
  }
  const count = v.count === undefined ? Infinity : Number(v.count);
  if (!(count > 0)) {
    err.write('gatehouse tap: --count: expected a positive integer\n');
    return EXIT.USAGE;
  }
  const q = new URLSearchParams();
  const pairs: Array<[string, string | undefined]> = [
    ['router', v.router],
    ['service', v.service],
    ['caller', v.caller],
    ['path', v.path],
    ['method', v.method],
    ['authority', v.authority],
    ['status', v.status],
    ['slowerThan', v['slower-than']],
    ['maxRps', v['max-rps']],
  ];
  for (const [k, x] of pairs) if (x !== undefined) q.set(k, x);
  if (v.headers === true) q.set('headers', '1');
  const ac = new AbortController();
  const onSigint = (): void => ac.abort();
  process.once('SIGINT', onSigint);
  signal?.addEventListener('abort', () => ac.abort(), { once: true });
  let timer: NodeJS.Timeout | null = null;
  if (v.duration !== undefined) {
    const { parseDuration } = await import('../util/duration.js');
    let ms: number;
    try {
      ms = parseDuration(v.duration);
    } catch (e) {
      err.write(`gatehouse tap: --duration: ${(e as Error).message}\n`);
      return EXIT.USAGE;
    }
    timer = setTimeout(() => ac.abort(), ms);
  }
  let ended = 0;
  let names: CallerNames = new Map();
  const print = (e: TapEvent): void => {
    out.write(v.output === 'json' ? `${JSON.stringify(e)}\n` : `${tapLine(e, names)}\n${v.headers === true ? headerLines(e) : ''}`);
  };
  const pairer = v.output === 'json' ? null : new ExchangePairer(print);
  try {
    const t = targetFrom(v, env);
    if (pairer !== null) names = await fetchCallerNames(t);
    await adminSse(
      t,
      `/api/gatehouse/tap?${q}`,
      (ev) => {
        if (ac.signal.aborted) return;
        if (ev.event === 'dropped') {
          err.write(`(tap: ${(JSON.parse(ev.data) as { dropped: number }).dropped} events dropped: the terminal could not keep up)\n`);
          return;
        }
        if (ev.event !== 'req' && ev.event !== 'rsp' && ev.event !== 'end') return;
        const e = JSON.parse(ev.data) as TapEvent;
        if (pairer === null) print(e);
        else pairer.push(e);
        if (e.type === 'end' && ++ended >= count) ac.abort();
      },
      ac.signal,
    );
    pairer?.flush();
    return EXIT.OK;
  } catch (e) {
    if (e instanceof AdminError) {
      err.write(`gatehouse tap: ${e.message}\n`);
      return EXIT.FAILED;
    }
    throw e;
  } finally {
    if (timer !== null) clearTimeout(timer);
    process.off('SIGINT', onSigint);
  }
}
