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
import { checkKeyVault, NOT_FETCHED } from './check-keyvault.js';

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
    const servers = sv.config.loadBalancer?.servers?.map((x) => x.url).join(', ') ?? '';
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

export const CHECK_USAGE = `usage: gatehouse check [serve flags] [--admin URL] [--admin-auth-env VAR] [--offline]

Compiles the configuration exactly as \`gatehouse serve\` would with the same flags
(entry points, providers, --api, …; see gatehouse serve --help), prints every
router, service and middleware with its status and every error with its file and
line. Exit 1 when something is invalid. Touches nothing: no listener, no traffic.

With --admin URL (or GATEHOUSE_ADMIN) it also checks the gateway running there, and
names it: its configuration (files it refused and since when, with the version it
still serves), services without a healthy server, the API, metrics, dashboard and
certificates. Without configuration flags, only that running gateway is checked.
Without --admin or GATEHOUSE_ADMIN no running gateway is checked.

flags:
  --admin URL            admin API of a running gateway to check, e.g. http://127.0.0.1:8080;
                         unreachable → exit 1 (from GATEHOUSE_ADMIN: reported, not an error)
  --admin-auth-env VAR   basic-auth credentials "user:pass" from this variable
  --offline              check no running gateway, even with GATEHOUSE_ADMIN set, and read
                         nothing from Azure Key Vault (the AzureKeyVaultSecrets are listed as
                         not verified); without it, --secrets.azurekeyvault.* reads each once
  -h, --help             this text
`;

/** Remove the CLI-only flags (--admin, --admin-auth-env, --offline) from the serve flags. */
export function splitAdminFlags(argv: string[]): { rest: string[]; admin?: string; authEnv?: string; offline: boolean } {
  const rest: string[] = [];
  let admin: string | undefined;
  let authEnv: string | undefined;
  let offline = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const m = /^--(admin|admin-auth-env)(?:=(.*))?$/.exec(a);
    if (m !== null) {
      const v = m[2] ?? argv[++i];
      if (v === undefined || v === '') throw new AdminError(`--${m[1]} needs a value`);
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
  /** Lines shown under the check (one per refused file, …). */
  details?: string[];
  hint?: string;
}

interface ApiService {
  name: string;
  status: string;
  type?: string;
  serverStatus?: Record<string, string>;
  error?: string[];
}

/** A file or document a provider refused and still refuses (`/api/overview` → `configuration.refused`). */
export interface RefusedFile {
  provider: string;
  file: string;
  line?: number;
  column?: number;
  field?: string;
  code: string;
  message: string;
  /** ISO 8601: first refused at. */
  since: string;
  /** ISO 8601: when the version still served was loaded; null: nothing of this file is served. */
  lastGood: string | null;
}

/** `/api/overview` → `configuration`. */
export interface ConfigurationState {
  healthy: boolean;
  refused: RefusedFile[];
  lastReload?: { revision: number; at: string; success: boolean };
}

export interface Overview {
  http: Record<string, { total: number; errors: number }>;
  errors?: string[];
  revision?: number;
  features?: { metrics?: string };
  configuration?: ConfigurationState;
}

/** `file:line:column` as far as known. */
function where(r: RefusedFile): string {
  return `${r.file}${r.line !== undefined ? `:${r.line}${r.column !== undefined ? `:${r.column}` : ''}` : ''}`;
}

/** One line per refused file: where, what, since when, and what is served instead. */
export function refusedLine(r: RefusedFile): string {
  const served = r.lastGood === null ? 'nothing of this file is served' : `serving the last good version from ${r.lastGood}`;
  return `${where(r)}: ${r.field !== undefined ? `field ${r.field}: ` : ''}${r.message} [${r.code}, ${r.provider} provider] refused since ${r.since}; ${served}`;
}

/** The configuration checks of an overview: refused files, a failed reload, disabled items, pipeline errors. */
export function configurationChecks(ov: Overview): LiveCheck[] {
  const out: LiveCheck[] = [];
  const c = ov.configuration;
  if (c !== undefined && c.refused.length > 0) {
    out.push({
      ok: false,
      text: `the running gateway refuses ${c.refused.length} configuration file(s)`,
      details: c.refused.map(refusedLine),
      hint: 'fix each file; the gateway applies it as soon as it is valid (run `gatehouse check` with the same flags to see every error)',
    });
  }
  const itemErrors = Object.entries(ov.http)
    .filter(([, x]) => x.errors > 0)
    .map(([k, x]) => `${x.errors} ${k}`);
  // Errors already shown as a refused file are not repeated.
  const pipeline = (ov.errors ?? []).filter((e) => !(c?.refused ?? []).some((r) => e.includes(r.file)));
  if (itemErrors.length > 0 || pipeline.length > 0)
    out.push({
      ok: false,
      text: `configuration has errors: ${[...itemErrors.map((e) => `${e} disabled`), ...pipeline].join('; ')}`,
      hint: 'see the error field of each item at /api/http/routers|services|middlewares, or run `gatehouse check` with the configuration flags',
    });
  // Nothing above says why, but the gateway says its configuration is not whole.
  if (out.length === 0 && c !== undefined && (!c.healthy || c.lastReload?.success === false)) {
    const r = c.lastReload;
    out.push({
      ok: false,
      text: `the running gateway reports its configuration as not healthy${r !== undefined && !r.success ? `: the last reload (revision ${r.revision} at ${r.at}) found errors` : ''}`,
      hint: 'see /api/overview and the gateway log',
    });
  }
  if (out.length === 0) out.push({ ok: true, text: `configuration revision ${ov.revision ?? '?'} is valid` });
  return out;
}

/** Certificates expiring within this many days fail the check. */
const CERT_WARN_DAYS = 14;

/** Checks against a running gateway's admin API. Throws AdminError when it cannot be reached. */
export async function liveChecks(t: AdminTarget, now = Date.now()): Promise<LiveCheck[]> {
  const out: LiveCheck[] = [];
  const version = await adminJson<{ Version?: string }>(t, '/api/version');
  out.push({ ok: true, text: `the admin API answers at ${t.base} (Gatehouse ${version.Version ?? '?'})` });

  const ov = await adminJson<Overview>(t, '/api/overview');
  out.push(...configurationChecks(ov));

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
  return checks
    .map(
      (c) =>
        `${c.ok ? '✔' : '✖'} ${c.text}${(c.details ?? []).map((d) => `\n    ${d}`).join('')}${c.ok || c.hint === undefined ? '' : `\n    see: ${c.hint}`}`,
    )
    .join('\n');
}

export async function checkMain(argv0: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let flags: ReturnType<typeof splitAdminFlags>;
  try {
    flags = splitAdminFlags(argv0);
  } catch (err) {
    console.error(`gatehouse check: ${(err as Error).message}`);
    return EXIT.USAGE;
  }
  let code: number = EXIT.OK;
  // `gatehouse check --admin URL` alone checks only the running gateway.
  if (flags.rest.length > 0 || flags.admin === undefined) {
    const o = loadServeOptions(flags.rest);
    if (o === null) return EXIT.FAILED;
    // The same providers and compiler as serve, read once.
    const watcher = createConfigWatcher(o, { log: silentLogger, watch: false });
    const snap = await watcher.start();
    await watcher.close();
    console.log(renderCheck(snap));
    // Key Vault (docs/secrets.md): the AzureKeyVaultSecrets read once, unless --offline.
    const kv = await checkKeyVault(snap, o.secrets.azureKeyVault, flags.offline);
    const errors = snap.issues.filter((i) => i.severity !== 'warning');
    const warnings = snap.issues.filter((i) => i.severity === 'warning' && !(kv.verified && NOT_FETCHED.test(i.message)));
    if (kv.lines.length > 0) console.log(`AZURE KEY VAULT\n${kv.lines.map((l) => `  ${l}`).join('\n')}`);
    if (kv.failed > 0) code = EXIT.FAILED;
    for (const w of warnings) console.log(`warning: ${formatIssue(w)}`);
    if (errors.length > 0) {
      console.error(`\n${errors.length} error(s):`);
      for (const e of errors) console.error(`  ✖ ${formatIssue(e)}`);
      code = EXIT.FAILED;
    } else if (kv.failed > 0) console.error(`\n✖ ${kv.failed} AzureKeyVaultSecret(s) cannot be read from Azure Key Vault (above)`);
    else console.log('\n✔ configuration is valid');
  }
  if (flags.offline) return code;

  // Only the gateway named by --admin or GATEHOUSE_ADMIN is checked, never whatever answers on :8080.
  const from =
    flags.admin !== undefined ? '--admin' : env.GATEHOUSE_ADMIN !== undefined && env.GATEHOUSE_ADMIN !== '' ? 'GATEHOUSE_ADMIN' : null;
  if (from === null) {
    console.log('\n- no running gateway checked: pass --admin URL (or set GATEHOUSE_ADMIN) to check one');
    return code;
  }
  let t: AdminTarget;
  try {
    t = adminTarget(flags.admin ?? env.GATEHOUSE_ADMIN, flags.authEnv, env);
  } catch (err) {
    if (!(err instanceof AdminError)) throw err;
    console.error(`gatehouse check: ${err.message}`);
    return EXIT.USAGE;
  }
  console.log(`\nRUNNING GATEWAY at ${t.base} (from ${from})`);
  try {
    const checks = await liveChecks(t);
    console.log(renderLiveChecks(checks));
    if (checks.some((c) => !c.ok)) code = EXIT.FAILED;
  } catch (err) {
    if (!(err instanceof AdminError)) throw err;
    // An explicit --admin must answer; GATEHOUSE_ADMIN is often set globally by scripts.
    if (from === '--admin') {
      console.log(`✖ ${err.message}`);
      code = EXIT.FAILED;
    } else console.log(`- not checked: ${err.message.split('\n')[0]}`);
  }
  return code;
}
