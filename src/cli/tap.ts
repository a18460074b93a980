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
import { ADMIN_FLAGS, targetFrom, type Out } from './stat.js';

const HELP = `usage: gatehouse tap [flags]

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
    err.write(`gatehouse tap: ${(e as Error).message}\n\n${HELP}`);
    return EXIT.USAGE;
  }
  const v = a.values;
  if (v.help === true) {
    out.write(HELP);
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
  try {
    await adminSse(
      targetFrom(v, env),
      `/api/gatehouse/tap?${q}`,
      (ev) => {
        if (ac.signal.aborted) return;
        if (ev.event === 'dropped') {
          err.write(`(tap: ${(JSON.parse(ev.data) as { dropped: number }).dropped} events dropped: the terminal could not keep up)\n`);
          return;
        }
        if (ev.event !== 'req' && ev.event !== 'rsp' && ev.event !== 'end') return;
        const e = JSON.parse(ev.data) as TapEvent;
        out.write(v.output === 'json' ? `${JSON.stringify(e)}\n` : `${formatTapLine(e)}\n${v.headers === true ? headerLines(e) : ''}`);
        if (e.type === 'end' && ++ended >= count) ac.abort();
      },
      ac.signal,
    );
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
