/**
 * `gatehouse edges [-t 1m] [-o json]`: who talks to whom — caller → router →
 * service → server — with the same golden metrics as `stat`.
 */
import { EXIT } from './exit-codes.js';
import { parseArgs } from 'node:util';
import type { EdgeRow } from '../observe/metrics.js';
import { AdminError, adminJson } from './admin-client.js';
import {
  ADMIN_FLAGS,
  callerName,
  fetchCallerNames,
  fmtMs,
  fmtRps,
  fmtSuccess,
  formatTable,
  targetFrom,
  type CallerNames,
  type Out,
} from './stat.js';

export const EDGES_USAGE = `usage: gatehouse edges [flags]

Who talks to whom: caller → router → service → server, with success rate,
requests per second and latency percentiles.

flags:
  -t, --window 10s|1m|10m|1h   window (default 1m)
  -o, --output json            JSON array
      --admin URL              admin API of the running gateway
      --admin-auth-env VAR     basic-auth credentials "user:pass" from this variable
`;

/** The edges table; callers show their display name (known clients), else their label. */
export function renderEdges(rows: EdgeRow[], names: CallerNames = new Map()): string {
  if (rows.length === 0) return 'No traffic found.\n';
  const d = (s: string): string => (s === '' ? '-' : s);
  return formatTable(
    ['CALLER', 'ROUTER', 'SERVICE', 'SERVER', 'SUCCESS', 'RPS', 'LATENCY_P50', 'LATENCY_P95', 'LATENCY_P99'],
    rows.map((r) => [
      d(callerName(r.caller, names)),
      d(r.router),
      d(r.service),
      d(r.server),
      fmtSuccess(r.success),
      fmtRps(r.rps),
      fmtMs(r.latencyP50Ms),
      fmtMs(r.latencyP95Ms),
      fmtMs(r.latencyP99Ms),
    ]),
  );
}

export async function edgesMain(argv: string[], env: NodeJS.ProcessEnv, out: Out, err: Out = process.stderr): Promise<number> {
  let a;
  try {
    a = parseArgs({
      args: argv,
      options: { ...ADMIN_FLAGS, window: { type: 'string', short: 't' }, output: { type: 'string', short: 'o' } },
    });
  } catch (e) {
    err.write(`gatehouse edges: ${(e as Error).message}\n\n${EDGES_USAGE}`);
    return EXIT.USAGE;
  }
  if (a.values.help === true) {
    out.write(EDGES_USAGE);
    return EXIT.OK;
  }
  if (a.values.output !== undefined && a.values.output !== 'json') {
    err.write(`gatehouse edges: -o: expected json, got "${a.values.output}"\n`);
    return EXIT.USAGE;
  }
  try {
    const t = targetFrom(a.values, env);
    const rows = await adminJson<EdgeRow[]>(t, `/api/gatehouse/edges?${new URLSearchParams({ window: a.values.window ?? '1m' })}`);
    out.write(a.values.output === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : renderEdges(rows, await fetchCallerNames(t)));
    return EXIT.OK;
  } catch (e) {
    if (e instanceof AdminError) {
      err.write(`gatehouse edges: ${e.message}\n`);
      return EXIT.FAILED;
    }
    throw e;
  }
}
