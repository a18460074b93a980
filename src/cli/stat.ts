/**
 * `gatehouse stat [routers|services|servers|callers|entrypoints] [NAME] [-t 1m]
 * [--from caller] [--to name] [-o json|wide]`: golden metrics per item, as
 * `linkerd viz stat` prints them, from the running gateway's admin API.
 */
import { EXIT } from './exit-codes.js';
import { parseArgs } from 'node:util';
import type { StatKind, StatRow } from '../observe/metrics.js';
import { STAT_KINDS } from '../observe/metrics.js';
import { AdminError, adminGet, adminJson, adminTarget, type AdminTarget } from './admin-client.js';
import { didYouMean } from '../util/closest.js';

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

/** Client id → display name, from `/api/gatehouse/callers` (empty when the gateway has none or predates it). */
export type CallerNames = ReadonlyMap<string, string>;

export async function fetchCallerNames(t: AdminTarget): Promise<CallerNames> {
  try {
    const list = await adminJson<Array<{ id: string; displayName: string }>>(t, '/api/gatehouse/callers');
    return new Map(Array.isArray(list) ? list.map((c) => [c.id, c.displayName]) : []);
  } catch {
    return new Map();
  }
}

/** A caller as people know it: its display name when it is a known client, else the label itself. */
export function callerName(id: string, names: CallerNames): string {
  return names.get(id) ?? id;
}

/**
 * The stat table. Callers show their display name (the id in a wide table's
 * ID column). TCP_CONN only where the gateway counts connections (entry
 * points, servers when reported): a column that is always `-` says nothing.
 */
export function renderStat(rows: StatRow[], wide: boolean, kind: StatKind = 'routers', names: CallerNames = new Map()): string {
  if (rows.length === 0) return 'No traffic found.\n';
  const callers = kind === 'callers';
  const conn = rows.some((r) => r.tcpConnections !== null && r.tcpConnections !== undefined);
  const header = [
    'NAME',
    ...(callers && wide ? ['ID'] : []),
    'SUCCESS',
    'RPS',
    'LATENCY_P50',
    'LATENCY_P95',
    'LATENCY_P99',
    ...(conn ? ['TCP_CONN'] : []),
    ...(wide ? ['REQUESTS'] : []),
  ];
  return formatTable(
    header,
    rows.map((r) => [
      callers ? callerName(r.name, names) : r.name,
      ...(callers && wide ? [r.name] : []),
      fmtSuccess(r.success),
      fmtRps(r.rps),
      fmtMs(r.latencyP50Ms),
      fmtMs(r.latencyP95Ms),
      fmtMs(r.latencyP99Ms),
      ...(conn ? [r.tcpConnections === null ? '-' : String(r.tcpConnections)] : []),
      ...(wide ? [String(r.requests)] : []),
    ]),
  );
}

/**
 * The row of one item: by exact name, by display name (callers), or by a name
 * without its `@provider` when that is unambiguous.
 */
export function findStatRow(rows: readonly StatRow[], name: string, names: CallerNames = new Map()): StatRow | undefined {
  const exact = rows.find((r) => r.name === name) ?? rows.find((r) => names.get(r.name) === name);
  if (exact !== undefined) return exact;
  const local = rows.filter((r) => r.name.includes('@') && r.name.slice(0, r.name.lastIndexOf('@')) === name);
  return local.length === 1 ? local[0] : undefined;
}

export const STAT_USAGE = `usage: gatehouse stat [routers|services|servers|callers|entrypoints] [NAME] [flags]

Golden metrics (success rate, requests per second, latency percentiles; open TCP
connections for entry points and servers) per item over a sliding window, or of
the one item NAME (e.g. gatehouse stat routers calc@file). Callers show their
display name; -o wide adds their id.

flags:
  -t, --window 10s|1m|10m|1h   window (default 1m)
      --from CALLER            only requests from this caller (its id)
      --to NAME                only requests to this router, service or server
  -o, --output json|wide       JSON array (an object with NAME), or the table with more columns
      --admin URL              admin API of the running gateway (default $GATEHOUSE_ADMIN or http://127.0.0.1:8080)
      --admin-auth-env VAR     basic-auth credentials "user:pass" from this variable
  -h, --help                   this text
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
    err.write(`gatehouse stat: ${(e as Error).message}\n\n${STAT_USAGE}`);
    return EXIT.USAGE;
  }
  if (a.values.help === true) {
    out.write(STAT_USAGE);
    return EXIT.OK;
  }
  const kind = (a.positionals[0] ?? 'routers') as StatKind;
  if (!STAT_KINDS.includes(kind)) {
    err.write(`gatehouse stat: unknown kind "${kind}"; expected one of ${STAT_KINDS.join(', ')}${didYouMean(kind, STAT_KINDS)}\n`);
    return EXIT.USAGE;
  }
  if (a.positionals.length > 2) {
    err.write(`gatehouse stat: expected a kind and at most one name, got ${a.positionals.length} arguments\n`);
    return EXIT.USAGE;
  }
  const one = a.positionals[1];
  const o = a.values.output;
  if (o !== undefined && o !== 'json' && o !== 'wide') {
    err.write(`gatehouse stat: -o: expected json or wide, got "${o}"\n`);
    return EXIT.USAGE;
  }
  try {
    const t = targetFrom(a.values, env);
    const window = a.values.window ?? '1m';
    const q = new URLSearchParams({ kind, window });
    if (a.values.from !== undefined) q.set('from', a.values.from);
    if (a.values.to !== undefined) q.set('to', a.values.to);
    let rows = await adminJson<StatRow[]>(t, `/api/gatehouse/stat?${q}`);
    const names = kind === 'callers' ? await fetchCallerNames(t) : new Map<string, string>();
    if (one !== undefined) {
      const row = findStatRow(rows, one, names);
      if (row === undefined) return await noSuchItem(t, kind, one, window, rows, names, out, err);
      if (o === 'json') {
        out.write(`${JSON.stringify(row, null, 2)}\n`);
        return EXIT.OK;
      }
      rows = [row];
    }
    out.write(o === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : renderStat(rows, o === 'wide', kind, names));
    if (o !== 'json' && (kind === 'services' || kind === 'servers')) {
      // Why a server is down: the services' serverHealth (for one server, its own line).
      const down = await downServers(t, kind === 'services' && one !== undefined ? rows[0]?.name : undefined);
      out.write(renderDownServers(kind === 'servers' && one !== undefined ? down.filter((d) => d.url === rows[0]?.name) : down));
    }
    return EXIT.OK;
  } catch (e) {
    if (e instanceof AdminError) {
      err.write(`gatehouse stat: ${e.message}\n`);
      return EXIT.FAILED;
    }
    throw e;
  }
}

/** A server that is down, and why (`serverHealth` of /api/http/services, docs/failover.md). */
export interface DownServer {
  service: string;
  url: string;
  priority: number;
  reason: string;
}

/** The down servers of every load balancer, or of service `name`; empty when the gateway does not say (an older one). */
export async function downServers(t: AdminTarget, name?: string): Promise<DownServer[]> {
  type Svc = { name?: string; serverHealth?: Record<string, { up?: boolean; priority?: number; reason?: string }> };
  let list: Svc[];
  try {
    if (name === undefined) list = await adminJson<Svc[]>(t, '/api/http/services?per_page=1000');
    else {
      const r = await adminGet(t, `/api/http/services/${encodeURIComponent(name)}`);
      list = r.status === 200 ? [JSON.parse(r.body) as Svc] : [];
    }
  } catch {
    return [];
  }
  const out: DownServer[] = [];
  for (const s of Array.isArray(list) ? list : [])
    for (const [url, h] of Object.entries(s.serverHealth ?? {}))
      if (h.up === false)
        out.push({ service: s.name ?? '', url, priority: h.priority ?? 1, reason: h.reason ?? 'down (no reason reported)' });
  return out;
}

/** The table of down servers under the stat table; nothing when every server is up. */
export function renderDownServers(list: readonly DownServer[]): string {
  if (list.length === 0) return '';
  return `\nDOWN SERVERS\n${formatTable(
    ['SERVICE', 'SERVER', 'PRIORITY', 'REASON'],
    list.map((d) => [d.service, d.url, String(d.priority), d.reason]),
  )}`;
}

/** NAME has no row: an item without traffic (exit 0), or no such item (exit 1, with the closest name). */
async function noSuchItem(
  t: AdminTarget,
  kind: StatKind,
  name: string,
  window: string,
  rows: readonly StatRow[],
  names: CallerNames,
  out: Out,
  err: Out,
): Promise<number> {
  const singular = kind === 'entrypoints' ? 'entry point' : kind.slice(0, -1);
  if (kind === 'routers' || kind === 'services') {
    const r = await adminGet(t, `/api/http/${kind}/${encodeURIComponent(name)}`);
    if (r.status === 200) {
      out.write(`No traffic for ${singular} ${name} in the last ${window}.\n`);
      if (kind === 'services') out.write(renderDownServers(await downServers(t, name)));
      return EXIT.OK;
    }
  }
  const known = [...rows.map((r) => r.name), ...rows.map((r) => names.get(r.name)).filter((n): n is string => n !== undefined)];
  err.write(`gatehouse stat: no ${singular} "${name}" with traffic in the last ${window}${didYouMean(name, known)}\n`);
  return EXIT.FAILED;
}
