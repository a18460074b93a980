/**
 * `gatehouse stat [routers|services|servers|callers|entrypoints] [-t 1m]
 * [--from caller] [--to name] [-o json|wide]`: golden metrics per item, as
 * `linkerd viz stat` prints them, from the running gateway's admin API.
 */
import { EXIT } from './exit-codes.js';
import { parseArgs } from 'node:util';
import type { StatKind, StatRow } from '../observe/metrics.js';
import { STAT_KINDS } from '../observe/metrics.js';
import { AdminError, adminJson, adminTarget, type AdminTarget } from './admin-client.js';

export interface Out {
  write(s: string): unknown;
}

/** Flags every view command takes. */
export const ADMIN_FLAGS = {
  admin: { type: 'string' },
  'admin-auth-env': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function targetFrom(
  values: { admin?: string | undefined; 'admin-auth-env'?: string | undefined },
  env: NodeJS.ProcessEnv,
): AdminTarget {
  return adminTarget(values.admin, values['admin-auth-env'], env);
}

export function fmtSuccess(s: number | null): string {
  return s === null ? '-' : `${(s * 100).toFixed(2)}%`;
}

export function fmtRps(r: number): string {
  return `${r < 10 ? r.toFixed(2) : r.toFixed(1)}rps`;
}

export function fmtMs(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1) return `${Math.round(ms * 1000)}µs`;
  if (ms < 10_000) return `${ms < 10 ? ms.toFixed(1).replace(/\.0$/, '') : Math.round(ms)}ms`;
  return `${(ms / 1000).toFixed(1)}s`;
}

/** Left-aligned columns separated by three spaces (kubectl style). */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('   ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function renderStat(rows: StatRow[], wide: boolean): string {
  if (rows.length === 0) return 'No traffic found.\n';
  const header = ['NAME', 'SUCCESS', 'RPS', 'LATENCY_P50', 'LATENCY_P95', 'LATENCY_P99', 'TCP_CONN', ...(wide ? ['REQUESTS'] : [])];
  return formatTable(
    header,
    rows.map((r) => [
      r.name,
      fmtSuccess(r.success),
      fmtRps(r.rps),
      fmtMs(r.latencyP50Ms),
      fmtMs(r.latencyP95Ms),
      fmtMs(r.latencyP99Ms),
      r.tcpConnections === null ? '-' : String(r.tcpConnections),
      ...(wide ? [String(r.requests)] : []),
    ]),
  );
}

const HELP = `usage: gatehouse stat [routers|services|servers|callers|entrypoints] [flags]

Golden metrics (success rate, requests per second, latency percentiles, open
TCP connections) per item over a sliding window.

flags:
  -t, --window 10s|1m|10m|1h   window (default 1m)
      --from CALLER            only requests from this caller
      --to NAME                only requests to this router, service or server
  -o, --output json|wide       JSON array, or the table with a REQUESTS column
      --admin URL              admin API of the running gateway (default $GATEHOUSE_ADMIN or http://127.0.0.1:8080)
      --admin-auth-env VAR     basic-auth credentials "user:pass" from this variable
`;

/** Run the command; returns the exit code. Errors go to `err`. */
export async function statMain(argv: string[], env: NodeJS.ProcessEnv, out: Out, err: Out = process.stderr): Promise<number> {
  let a;
  try {
    a = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ...ADMIN_FLAGS,
        window: { type: 'string', short: 't' },
        from: { type: 'string' },
        to: { type: 'string' },
        output: { type: 'string', short: 'o' },
      },
    });
  } catch (e) {
    err.write(`gatehouse stat: ${(e as Error).message}\n\n${HELP}`);
    return EXIT.USAGE;
  }
  if (a.values.help === true) {
    out.write(HELP);
    return EXIT.OK;
  }
  const kind = (a.positionals[0] ?? 'routers') as StatKind;
  if (!STAT_KINDS.includes(kind)) {
    err.write(`gatehouse stat: unknown kind "${kind}"; expected one of ${STAT_KINDS.join(', ')}\n`);
    return EXIT.USAGE;
  }
  const o = a.values.output;
  if (o !== undefined && o !== 'json' && o !== 'wide') {
    err.write(`gatehouse stat: -o: expected json or wide, got "${o}"\n`);
    return EXIT.USAGE;
  }
  try {
    const t = targetFrom(a.values, env);
    const q = new URLSearchParams({ kind, window: a.values.window ?? '1m' });
    if (a.values.from !== undefined) q.set('from', a.values.from);
    if (a.values.to !== undefined) q.set('to', a.values.to);
    const rows = await adminJson<StatRow[]>(t, `/api/gatehouse/stat?${q}`);
    out.write(o === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : renderStat(rows, o === 'wide'));
    return EXIT.OK;
  } catch (e) {
    if (e instanceof AdminError) {
      err.write(`gatehouse stat: ${e.message}\n`);
      return EXIT.FAILED;
    }
    throw e;
  }
}
