/**
 * `gatehouse check`: compile the configuration exactly as `serve` would, print
 * every router, service and middleware with its status, exit 1 with every
 * error when something is invalid. Touches nothing (no listener, no traffic).
 *
 * Then, like `linkerd check`, the running gateway at `--admin URL`
 * (GATEHOUSE_ADMIN, default http://127.0.0.1:8080) is checked too: its
 * configuration is valid, every service has a healthy server, the key
 * endpoints answer, certificates are not about to expire. One ✔/✖ line per
 * check with a hint. Without an explicit --admin, a gateway that cannot be
 * reached is reported and skipped, not an error.
 */
import { EXIT } from './exit-codes.js';
import { silentLogger } from '../log.js';
import { formatIssue } from '../errors.js';
import { createConfigWatcher } from '../server/config-pipeline.js';
import { loadServeOptions } from './serve-command.js';
import type { Snapshot } from '../config/runtime.js';
import { AdminError, adminGet, adminJson, adminTarget, type AdminTarget } from './admin-client.js';

export function renderCheck(s: Snapshot): string {
  const lines: string[] = [];
  const mark = (st: string): string => (st === 'enabled' ? '✔' : st === 'warning' ? '!' : '✖');
  lines.push('ROUTERS');
  for (const r of Object.values(s.routers).sort((a, b) => a.name.localeCompare(b.name))) {
    lines.push(
      `  ${mark(r.status)} ${r.name}  ${r.status}  [${r.entryPoints.join(',')}]  ${r.config?.rule ?? ''}  → ${r.service}${r.middlewares.length > 0 ? `  via ${r.middlewares.join(', ')}` : ''}`,
    );
    for (const e of r.errors) lines.push(`      ${e}`);
  }
  lines.push('SERVICES');
  for (const sv of Object.values(s.services).sort((a, b) => a.name.localeCompare(b.name))) {
    if (sv.type === 'internal' && sv.usedBy.length === 0) continue;
    const servers = sv.config.loadBalancer?.servers.map((x) => x.url).join(', ') ?? '';
    lines.push(`  ${mark(sv.status)} ${sv.name}  ${sv.status}  ${sv.type}${servers !== '' ? `  ${servers}` : ''}`);
    for (const e of sv.errors) lines.push(`      ${e}`);
  }
  lines.push('MIDDLEWARES');
  for (const m of Object.values(s.middlewares).sort((a, b) => a.name.localeCompare(b.name))) {
    lines.push(`  ${mark(m.status)} ${m.name}  ${m.status}  ${m.type}`);
    for (const e of m.errors) lines.push(`      ${e}`);
  }
  return lines.join('\n');
}

/** Remove the CLI-only flags (--admin, --admin-auth-env) from the serve flags. */
function splitAdminFlags(argv: string[]): { rest: string[]; admin?: string; authEnv?: string; offline: boolean } {
  const rest: string[] = [];
  let admin: string | undefined;
  let authEnv: string | undefined;
  let offline = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const m = /^--(admin|admin-auth-env)(?:=(.*))?$/.exec(a);
    if (m !== null) {
      const v = m[2] ?? argv[++i];
      if (m[1] === 'admin') admin = v;
      else authEnv = v;
    } else if (a === '--offline') offline = true;
    else rest.push(a);
  }
  return { rest, ...(admin !== undefined ? { admin } : {}), ...(authEnv !== undefined ? { authEnv } : {}), offline };
}

export interface LiveCheck {
  ok: boolean;
  text: string;
  hint?: string;
}

interface ApiService {
  name: string;
  status: string;
  type?: string;
  serverStatus?: Record<string, string>;
  error?: string[];
}

/** Certificates expiring within this many days fail the check. */
const CERT_WARN_DAYS = 14;

/** Checks against a running gateway's admin API. Throws AdminError when it cannot be reached. */
export async function liveChecks(t: AdminTarget, now = Date.now()): Promise<LiveCheck[]> {
  const out: LiveCheck[] = [];
  const version = await adminJson<{ Version?: string }>(t, '/api/version');
  out.push({ ok: true, text: `the admin API answers at ${t.base} (Gatehouse ${version.Version ?? '?'})` });

  const ov = await adminJson<{
    http: Record<string, { total: number; errors: number }>;
    errors?: string[];
    revision?: number;
    features?: { metrics?: string };
  }>(t, '/api/overview');
  const itemErrors = Object.entries(ov.http)
    .filter(([, c]) => c.errors > 0)
    .map(([k, c]) => `${c.errors} ${k}`);
  const pipeline = ov.errors ?? [];
  if (itemErrors.length === 0 && pipeline.length === 0)
    out.push({ ok: true, text: `configuration revision ${ov.revision ?? '?'} is valid` });
  else
    out.push({
      ok: false,
      text: `configuration has errors: ${[...itemErrors.map((e) => `${e} disabled`), ...pipeline].join('; ')}`,
      hint: 'see the error field of each item at /api/http/routers|services|middlewares, or run `gatehouse check` with the configuration flags',
    });

  const services = await adminJson<ApiService[]>(t, '/api/http/services?per_page=1000');
  let unhealthy = 0;
  for (const s of services) {
    if (s.serverStatus === undefined) continue;
    const urls = Object.entries(s.serverStatus);
    const upCount = urls.filter(([, st]) => st === 'UP').length;
    if (upCount === 0) {
      unhealthy++;
      out.push({
        ok: false,
        text: `service ${s.name} has no healthy server (${urls.map(([u]) => u).join(', ') || 'no servers'})`,
        hint: 'check that the backends run and that the health check path answers 2xx/3xx',
      });
    }
  }
  if (unhealthy === 0)
    out.push({
      ok: true,
      text: `every service has a healthy server (${services.filter((s) => s.serverStatus !== undefined).length} load-balanced services)`,
    });

  const stat = await adminGet(t, '/api/gatehouse/stat?kind=entrypoints&window=10s');
  out.push(
    stat.status === 200
      ? { ok: true, text: 'live traffic views answer (/api/gatehouse/stat)' }
      : {
          ok: false,
          text: `/api/gatehouse/stat answered ${stat.status}`,
          hint: 'is this a Gatehouse gateway? In a cluster, the primary process may be overloaded',
        },
  );

  if (ov.features?.metrics === 'Prometheus') {
    const m = await adminGet(t, '/metrics');
    out.push(
      m.status === 200 && m.body.includes('traefik_config_reloads_total')
        ? { ok: true, text: 'Prometheus metrics answer at /metrics' }
        : {
            ok: false,
            text: `/metrics on the admin address answered ${m.status}`,
            hint: 'metrics are served on --metrics.prometheus.entrypoint (default traefik); check that entry point',
          },
    );
  }
  const dash = await adminGet(t, '/dashboard/');
  if (dash.status === 200) out.push({ ok: true, text: 'the dashboard answers at /dashboard/' });

  const certs = await adminGet(t, '/api/gatehouse/certificates');
  if (certs.status === 200) {
    const list = JSON.parse(certs.body) as Array<{ name: string; notAfter: number }>;
    if (list.length === 0) out.push({ ok: true, text: 'no TLS certificates in use (none can expire)' });
    for (const c of list) {
      const days = Math.floor((c.notAfter - now) / 86_400_000);
      out.push(
        days >= CERT_WARN_DAYS
          ? { ok: true, text: `certificate ${c.name} valid for ${days} more days` }
          : {
              ok: false,
              text: `certificate ${c.name} ${days < 0 ? 'has expired' : `expires in ${days} days`}`,
              hint: 'renew it (or check the ACME resolver) and reload',
            },
      );
    }
  }
  return out;
}

export function renderLiveChecks(checks: LiveCheck[]): string {
  return checks.map((c) => `${c.ok ? '✔' : '✖'} ${c.text}${c.ok || c.hint === undefined ? '' : `\n    see: ${c.hint}`}`).join('\n');
}

export async function checkMain(argv0: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const flags = splitAdminFlags(argv0);
  const argv = flags.rest;
  const o = loadServeOptions(argv);
  if (o === null) return EXIT.FAILED;
  // The same providers and compiler as serve, read once.
  const watcher = createConfigWatcher(o, { log: silentLogger, watch: false });
  const snap = await watcher.start();
  await watcher.close();
  console.log(renderCheck(snap));
  const errors = snap.issues.filter((i) => i.severity !== 'warning');
  const warnings = snap.issues.filter((i) => i.severity === 'warning');
  for (const w of warnings) console.log(`warning: ${formatIssue(w)}`);
  let code: number = EXIT.OK;
  if (errors.length > 0) {
    console.error(`\n${errors.length} error(s):`);
    for (const e of errors) console.error(`  ✖ ${formatIssue(e)}`);
    code = EXIT.FAILED;
  } else console.log('\n✔ configuration is valid');
  if (flags.offline) return code;

  // Only an explicit --admin makes an unreachable gateway a failure (scripts set GATEHOUSE_ADMIN globally).
  const explicit = flags.admin !== undefined;
  console.log('\nRUNNING GATEWAY');
  try {
    const t = adminTarget(flags.admin, flags.authEnv, env);
    const checks = await liveChecks(t);
    console.log(renderLiveChecks(checks));
    if (checks.some((c) => !c.ok)) code = EXIT.FAILED;
  } catch (err) {
    if (!(err instanceof AdminError)) throw err;
    if (explicit) {
      console.log(`✖ ${err.message}`);
      code = EXIT.FAILED;
    } else console.log(`- no running gateway checked: ${err.message.split('\n')[0]}; pass --admin URL to require one`);
  }
  return code;
}
