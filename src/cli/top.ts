/**
 * `gatehouse top`: the busiest paths (method + path template) with count,
 * best, worst and last latency and success rate, refreshed every second like
 * `linkerd viz top`. `--once` prints a single frame (scripts, tests).
 */
import { EXIT } from './exit-codes.js';
import { parseArgs } from 'node:util';
import type { TopRow } from '../observe/metrics.js';
import { AdminError, adminJson } from './admin-client.js';
import { ADMIN_FLAGS, fmtMs, fmtRps, fmtSuccess, formatTable, targetFrom, type Out } from './stat.js';

const SORTS = ['count', 'rps', 'best', 'worst', 'last', 'success', 'path'] as const;
type SortKey = (typeof SORTS)[number];

export const TOP_USAGE = `usage: gatehouse top [flags]

The busiest paths, refreshed every second (Ctrl-C to quit).

flags:
  -t, --window 10s|1m|10m|1h   window (default 1m)
      --sort ${SORTS.join('|')}   sort column (default count; latencies and success: worst first)
  -n, --limit N                rows (default 20)
      --once                   print one frame and exit
  -o, --output json            JSON (with --once)
      --admin URL              admin API of the running gateway
      --admin-auth-env VAR     basic-auth credentials "user:pass" from this variable
`;

export function sortTop(rows: TopRow[], key: SortKey): TopRow[] {
  const n = (v: number | null, worst: number): number => (v === null ? worst : v);
  const cmp: Record<SortKey, (a: TopRow, b: TopRow) => number> = {
    count: (a, b) => b.count - a.count,
    rps: (a, b) => b.rps - a.rps,
    best: (a, b) => n(b.bestMs, -1) - n(a.bestMs, -1),
    worst: (a, b) => n(b.worstMs, -1) - n(a.worstMs, -1),
    last: (a, b) => n(b.lastMs, -1) - n(a.lastMs, -1),
    success: (a, b) => n(a.success, 2) - n(b.success, 2),
    path: (a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
  };
  return [...rows].sort((a, b) => cmp[key](a, b) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export function renderTop(rows: TopRow[]): string {
  if (rows.length === 0) return 'No traffic found.\n';
  return formatTable(
    ['METHOD', 'PATH', 'COUNT', 'RPS', 'BEST', 'WORST', 'LAST', 'SUCCESS'],
    rows.map((r) => [
      r.method,
      r.path,
      String(r.count),
      fmtRps(r.rps),
      fmtMs(r.bestMs),
      fmtMs(r.worstMs),
      fmtMs(r.lastMs),
      fmtSuccess(r.success),
    ]),
  );
}

export async function topMain(
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
        window: { type: 'string', short: 't' },
        sort: { type: 'string' },
        limit: { type: 'string', short: 'n' },
        once: { type: 'boolean' },
        output: { type: 'string', short: 'o' },
      },
    });
  } catch (e) {
    err.write(`gatehouse top: ${(e as Error).message}\n\n${TOP_USAGE}`);
    return EXIT.USAGE;
  }
  if (a.values.help === true) {
    out.write(TOP_USAGE);
    return EXIT.OK;
  }
  const sort = (a.values.sort ?? 'count') as SortKey;
  if (!SORTS.includes(sort)) {
    err.write(`gatehouse top: --sort: expected one of ${SORTS.join(', ')}, got "${sort}"\n`);
    return EXIT.USAGE;
  }
  const limit = Number(a.values.limit ?? '20');
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
    err.write('gatehouse top: --limit: expected an integer from 1 to 500\n');
    return EXIT.USAGE;
  }
  try {
    const t = targetFrom(a.values, env);
    const path = `/api/gatehouse/top?${new URLSearchParams({ window: a.values.window ?? '1m', limit: '500' })}`;
    const frame = async (): Promise<TopRow[]> => sortTop(await adminJson<TopRow[]>(t, path), sort).slice(0, limit);
    if (a.values.once === true) {
      const rows = await frame();
      out.write(a.values.output === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : renderTop(rows));
      return EXIT.OK;
    }
    const stop = signal ?? abortOnSigint();
    // On a terminal each frame replaces the last; into a pipe or a file, frames follow each
    // other as plain text, without terminal escape codes.
    const tty = (out as { isTTY?: boolean }).isTTY === true;
    while (!stop.aborted) {
      const rows = await frame();
      const head = `(gatehouse top · ${t.base} · window ${a.values.window ?? '1m'} · sort ${sort} · Ctrl-C to quit)`;
      if (tty) out.write(`\x1b[2J\x1b[H${head}\n\n${renderTop(rows)}`);
      else out.write(`${head.replace(' · Ctrl-C to quit', ` · ${new Date().toISOString()}`)}\n${renderTop(rows)}\n`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        stop.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
    }
    return EXIT.OK;
  } catch (e) {
    if (e instanceof AdminError) {
      err.write(`gatehouse top: ${e.message}\n`);
      return EXIT.FAILED;
    }
    throw e;
  }
}

function abortOnSigint(): AbortSignal {
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  return ac.signal;
}
