/**
 * `gatehouse diff [serve flags] --admin URL`: what a configuration (a
 * directory, a git branch or tag: any provider flags `serve` takes) would
 * add, remove or change against the gateway running at URL: routers,
 * services and middlewares, with the changed fields, readable in a pull
 * request (like `flux diff kustomization`). Exit 0: no difference; 1:
 * differences (or a failure, said on stderr); 2: usage.
 */
import { EXIT } from './exit-codes.js';
import { AdminError, adminJson, adminTarget } from './admin-client.js';
import { splitAdminFlags } from './check-command.js';
import { loadServeOptions } from './serve-command.js';
import { createConfigWatcher } from '../server/config-pipeline.js';
import { rawItems } from '../admin/api.js';
import { formatIssue } from '../errors.js';
import { silentLogger } from '../log.js';
import type { Out } from './stat.js';

export const DIFF_USAGE = `usage: gatehouse diff [serve flags] --admin URL

Compiles the configuration the serve flags describe (e.g. --providers.file.directory=./conf,
or --providers.git.url=… --providers.git.branch=feature-x) exactly as \`gatehouse serve\`
would, and prints what it would add (+), remove (-) or change (~) against the gateway
running at URL: routers, services and middlewares, each changed field with its old and
new value. Values of secret-like fields (users, passwords, secrets, tokens, keys) are
never printed, only that they changed. @internal items are left out.

Exit 0 when there is no difference, 1 when there are differences (or on a failure,
said on stderr), 2 on a usage error.

flags:
  --admin URL            admin API of the running gateway (or GATEHOUSE_ADMIN)
  --admin-auth-env VAR   basic-auth credentials "user:pass" from this variable
  -h, --help             this text
`;

type Items = Record<string, unknown>;
interface Raw {
  routers: Items;
  middlewares: Items;
  services: Items;
}

/** Runtime-only fields: not part of what the configuration says. */
const VOLATILE = new Set(['status', 'usedBy', 'serverStatus', 'using', 'error', 'name', 'provider']);
const SECRET = /(^|\.)(users|password|passwords|secret|secrets|token|tokens|key|keys|clientSecret|authorization)(\.|\[|$)/i;

/** path → JSON value, for every leaf (arrays indexed). */
function flatten(v: unknown, path: string, out: Map<string, string>): void {
  if (Array.isArray(v)) {
    if (v.length === 0) out.set(path, '[]');
    v.forEach((x, i) => flatten(x, `${path}[${i}]`, out));
  } else if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([k]) => path !== '' || !VOLATILE.has(k));
    if (entries.length === 0 && path !== '') out.set(path, '{}');
    for (const [k, x] of entries) flatten(x, path === '' ? k : `${path}.${k}`, out);
  } else out.set(path, JSON.stringify(v));
}

export interface DiffLine {
  op: '+' | '-' | '~';
  kind: 'router' | 'service' | 'middleware';
  name: string;
  fields: Array<{ path: string; from?: string; to?: string }>;
}

export function diffRaw(running: Raw, candidate: Raw): DiffLine[] {
  const out: DiffLine[] = [];
  const kinds = [
    ['router', 'routers'],
    ['service', 'services'],
    ['middleware', 'middlewares'],
  ] as const;
  for (const [kind, key] of kinds) {
    const a = running[key] ?? {};
    const b = candidate[key] ?? {};
    const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((n) => !n.endsWith('@internal')).sort();
    for (const name of names) {
      const fa = new Map<string, string>();
      const fb = new Map<string, string>();
      if (name in a) flatten(a[name], '', fa);
      if (name in b) flatten(b[name], '', fb);
      const show = (p: string, v: string | undefined): string | undefined =>
        v === undefined ? undefined : SECRET.test(p) ? '(secret)' : v;
      if (!(name in a)) {
        out.push({ op: '+', kind, name, fields: [...fb].map(([p, v]) => ({ path: p, to: show(p, v) as string })) });
      } else if (!(name in b)) {
        out.push({ op: '-', kind, name, fields: [] });
      } else {
        const fields: DiffLine['fields'] = [];
        for (const p of [...new Set([...fa.keys(), ...fb.keys()])].sort()) {
          const x = fa.get(p);
          const y = fb.get(p);
          if (x === y) continue;
          fields.push({ path: p, ...(x !== undefined ? { from: show(p, x) } : {}), ...(y !== undefined ? { to: show(p, y) } : {}) });
        }
        if (fields.length > 0) out.push({ op: '~', kind, name, fields });
      }
    }
  }
  return out;
}

export function renderDiff(lines: readonly DiffLine[]): string {
  if (lines.length === 0) return 'no differences\n';
  const text: string[] = [];
  for (const l of lines) {
    text.push(`${l.op} ${l.kind} ${l.name}`);
    if (l.op === '+') for (const f of l.fields) text.push(`    ${f.path}: ${f.to}`);
    if (l.op === '~') for (const f of l.fields) text.push(`    ${f.path}: ${f.from ?? '(absent)'} → ${f.to ?? '(absent)'}`);
  }
  const n = (op: string): number => lines.filter((l) => l.op === op).length;
  text.push('', `${n('+')} to add, ${n('~')} to change, ${n('-')} to remove`);
  return `${text.join('\n')}\n`;
}

export async function diffMain(
  argv: string[],
  env: NodeJS.ProcessEnv,
  out: Out = process.stdout,
  err: Out = process.stderr,
): Promise<number> {
  let flags: ReturnType<typeof splitAdminFlags>;
  try {
    flags = splitAdminFlags(argv);
  } catch (e) {
    err.write(`gatehouse diff: ${(e as Error).message}\n\n${DIFF_USAGE}`);
    return EXIT.USAGE;
  }
  if (flags.admin === undefined && (env.GATEHOUSE_ADMIN ?? '') === '') {
    err.write(`gatehouse diff: --admin URL (or GATEHOUSE_ADMIN) names the running gateway to compare with\n\n${DIFF_USAGE}`);
    return EXIT.USAGE;
  }
  if (flags.rest.length === 0) {
    err.write(`gatehouse diff: no configuration given: pass the serve flags of the candidate (e.g. --providers.file.directory=DIR)\n`);
    return EXIT.USAGE;
  }
  const o = loadServeOptions(flags.rest);
  if (o === null) return EXIT.USAGE;
  const watcher = createConfigWatcher(o, { log: silentLogger, watch: false });
  const snap = await watcher.start();
  await watcher.close();
  const errors = snap.issues.filter((i) => i.severity !== 'warning');
  for (const e of errors) err.write(`error: ${formatIssue(e)}\n`);
  try {
    const t = adminTarget(flags.admin, flags.authEnv, env);
    const running = await adminJson<Raw>(t, '/api/rawdata');
    if (running === null || typeof running !== 'object' || typeof running.routers !== 'object')
      throw new AdminError('/api/rawdata: not a Traefik rawdata object');
    out.write(`diff against the gateway at ${t.base}\n`);
    const lines = diffRaw(running, rawItems(snap));
    out.write(renderDiff(lines));
    if (errors.length > 0) err.write(`${errors.length} configuration error(s) in the candidate (items in error are shown disabled)\n`);
    return lines.length > 0 || errors.length > 0 ? EXIT.FAILED : EXIT.OK;
  } catch (e) {
    if (e instanceof AdminError) {
      err.write(`gatehouse diff: ${e.message}\n`);
      return EXIT.FAILED;
    }
    throw e;
  }
}
