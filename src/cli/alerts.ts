/**
 * `gatehouse alerts [-o json] [--state firing]`: the alert rules of the
 * running gateway and the state of each alert (firing, resolved, inactive),
 * from `/api/gatehouse/alerts`.
 */
import { EXIT } from './exit-codes.js';
import { parseArgs } from 'node:util';
import type { AlertStateView } from '../alerts/engine.js';
import { AdminError, adminJson } from './admin-client.js';
import { ADMIN_FLAGS, formatTable, targetFrom, type Out } from './stat.js';

export const ALERTS_USAGE = `usage: gatehouse alerts [flags]

Alert rules (AlertRule objects) of the running gateway and the state of each
alert: firing, resolved or inactive, with its value, since when, and the last
notification.

flags:
      --state firing|resolved|inactive   only alerts in this state
  -o, --output json                      JSON array
      --admin URL                        admin API of the running gateway
      --admin-auth-env VAR               basic-auth credentials "user:pass" from this variable
`;

function ago(iso: string | null, now: number): string {
  if (iso === null) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : s < 172_800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86400)}d`;
}

function fmtValue(v: number | null): string {
  return v === null ? 'no data' : String(Math.round(v * 1000) / 1000);
}

export function renderAlerts(rows: AlertStateView[], now = Date.now()): string {
  if (rows.length === 0) return 'No alert rules. Add AlertRule objects (apiVersion gatehouse.dev/v1alpha1) to the configuration.\n';
  const mark = (s: string): string => (s === 'firing' ? '✖ firing' : s === 'resolved' ? '✔ resolved' : '· inactive');
  return formatTable(
    ['RULE', 'STATE', 'SEV', 'CONDITION', 'SCOPE', 'VALUE', 'SINCE', 'NOTIFIED'],
    rows.map((r) => {
      const extra = Object.entries(r.labels).filter(([k]) => (k === 'service' || k === 'certificate') && r.scope[k] === undefined);
      const scope = [...Object.entries(r.scope), ...extra].map(([k, v]) => `${k}=${v}`).join(',') || '*';
      const since = r.state === 'firing' ? r.startsAt : r.state === 'resolved' ? r.endsAt : null;
      const n = r.lastNotification;
      return [
        r.rule,
        mark(r.state),
        String(r.severity),
        r.condition,
        scope,
        fmtValue(r.value),
        ago(since, now),
        n === null ? '-' : `${n.status}${n.httpStatus > 0 ? ` (${n.httpStatus})` : ''}`,
      ];
    }),
  );
}

export async function alertsMain(argv: string[], env: NodeJS.ProcessEnv, out: Out, err: Out = process.stderr): Promise<number> {
  let a;
  try {
    a = parseArgs({ args: argv, options: { ...ADMIN_FLAGS, output: { type: 'string', short: 'o' }, state: { type: 'string' } } });
  } catch (e) {
    err.write(`gatehouse alerts: ${(e as Error).message}\n\n${ALERTS_USAGE}`);
    return EXIT.USAGE;
  }
  if (a.values.help === true) {
    out.write(ALERTS_USAGE);
    return EXIT.OK;
  }
  if (a.values.output !== undefined && a.values.output !== 'json') {
    err.write(`gatehouse alerts: -o: expected json, got "${a.values.output}"\n`);
    return EXIT.USAGE;
  }
  const state = a.values.state;
  if (state !== undefined && !['firing', 'resolved', 'inactive'].includes(state)) {
    err.write(`gatehouse alerts: --state: expected firing, resolved or inactive, got "${state}"\n`);
    return EXIT.USAGE;
  }
  try {
    let rows = await adminJson<AlertStateView[]>(targetFrom(a.values, env), '/api/gatehouse/alerts');
    if (!Array.isArray(rows)) throw new AdminError('/api/gatehouse/alerts: expected a JSON array');
    if (state !== undefined) rows = rows.filter((r) => r.state === state);
    out.write(a.values.output === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : renderAlerts(rows));
    return EXIT.OK;
  } catch (e) {
    if (e instanceof AdminError) {
      err.write(`gatehouse alerts: ${e.message}\n`);
      return EXIT.FAILED;
    }
    throw e;
  }
}
