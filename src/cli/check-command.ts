/**
 * `gatehouse check`: compile the configuration exactly as `serve` would, print
 * every router, service and middleware with its status, exit 1 with every
 * error when something is invalid. Touches nothing (no listener, no traffic).
 */
import { silentLogger } from '../log.js';
import { formatIssue } from '../errors.js';
import { ConfigManager } from '../config/manager.js';
import { builtinRegistry } from '../middlewares/builtin.js';
import { internalServiceNames } from '../server/serving.js';
import { staticIssues } from '../server/serve.js';
import { loadServeOptions } from './serve-command.js';
import type { Snapshot } from '../config/runtime.js';

export function renderCheck(s: Snapshot): string {
  const lines: string[] = [];
  const mark = (st: string): string => (st === 'enabled' ? '✔' : st === 'warning' ? '!' : '✖');
  lines.push('ROUTERS');
  for (const r of Object.values(s.routers).sort((a, b) => a.name.localeCompare(b.name))) {
    lines.push(`  ${mark(r.status)} ${r.name}  ${r.status}  [${r.entryPoints.join(',')}]  ${r.config?.rule ?? ''}  → ${r.service}${r.middlewares.length > 0 ? `  via ${r.middlewares.join(', ')}` : ''}`);
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

export async function checkMain(argv: string[]): Promise<number> {
  const o = loadServeOptions(argv);
  if (o === null) return 1;
  const manager = new ConfigManager({
    file: o.file === null ? null : { ...o.file, watch: false },
    kubernetes: o.kubernetes,
    entryPoints: o.entryPoints.map((e) => e.name),
    defaultEntryPoints: o.defaultEntryPoints,
    defaultRuleSyntax: o.defaultRuleSyntax,
    registry: builtinRegistry(),
    internalRoutes: { api: o.api.insecure ? 'traefik' : null, dashboard: o.api.dashboard, ping: o.ping !== null && o.ping.entryPoint !== '' ? o.ping.entryPoint : null, metrics: o.metrics?.entryPoint ?? null, identity: o.identity.insecure ? 'traefik' : null },
    internalServices: internalServiceNames(o),
    staticIssues: staticIssues(o),
    log: silentLogger,
  });
  const snap = await manager.start();
  await manager.close();
  console.log(renderCheck(snap));
  const errors = snap.issues.filter((i) => i.severity !== 'warning');
  const warnings = snap.issues.filter((i) => i.severity === 'warning');
  for (const w of warnings) console.log(`warning: ${formatIssue(w)}`);
  if (errors.length > 0) {
    console.error(`\n${errors.length} error(s):`);
    for (const e of errors) console.error(`  ✖ ${formatIssue(e)}`);
    return 1;
  }
  console.log('\n✔ configuration is valid');
  return 0;
}
