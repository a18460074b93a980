/**
 * The qualify and validate passes for routers: the schema, the rule (compiled
 * once here only to check it; the build compiles it again into the matcher),
 * the entry points, the effective priority. The service and middlewares are
 * declared for the resolve pass, which fills `service` and `middlewares`.
 */
import type { ConfigFragment, Item } from '../model.js';
import type { RuntimeRouter } from '../runtime.js';
import { RouterSchema, type RouterConfig } from '../schema.js';
import { compileRule, defaultPriority } from '../../rules/index.js';
import { didYouMean } from '../../util/closest.js';
import type { PassContext } from './items.js';
import { qualify } from './qualify.js';
import type { Reference } from './registry.js';
import { schemaProblems } from './validate.js';

/** What routers need from the compile options. */
export interface RouterDefaults {
  readonly entryPoints: readonly string[];
  readonly defaultEntryPoints: readonly string[];
  readonly defaultRuleSyntax: 'v2' | 'v3';
}

export function collectRouter(
  ctx: PassContext,
  defaults: RouterDefaults,
  frag: ConfigFragment,
  local: string,
  item: Item<RouterConfig>,
): void {
  const name = qualify(local, frag.provider);
  const cfg = item.value;
  const rr: RuntimeRouter = {
    name,
    provider: frag.provider,
    status: 'enabled',
    errors: [],
    source: item.source,
    config: cfg,
    entryPoints: [],
    priority: 0,
    middlewares: [],
    service: '',
    ruleSyntax: cfg?.ruleSyntax ?? defaults.defaultRuleSyntax,
  };
  const dns = frag.externalDns?.routers[local];
  if (dns !== undefined) rr.externalDns = dns;
  ctx.snap.routers[name] = ctx.book.track('router', rr);
  const problems = schemaProblems(RouterSchema, cfg);
  for (const p of problems) ctx.book.addFieldError(rr, p.message, true, p.path || undefined);
  if (problems.length > 0) return;
  // Traefik: priority 0 (or none) means "the length of the rule".
  rr.priority = cfg.priority !== undefined && cfg.priority !== 0 ? cfg.priority : defaultPriority(cfg.rule);
  try {
    compileRule(cfg.rule, rr.ruleSyntax);
  } catch (err) {
    ctx.book.addError(rr, `invalid rule: ${err instanceof Error ? err.message : String(err)}`, true, 'rule', 'GH_RULE_SYNTAX');
  }
  const eps = cfg.entryPoints !== undefined && cfg.entryPoints.length > 0 ? cfg.entryPoints : defaults.defaultEntryPoints;
  for (const ep of eps) {
    if (!defaults.entryPoints.includes(ep))
      ctx.book.addError(
        rr,
        `entry point "${ep}" does not exist${didYouMean(ep, defaults.entryPoints)}`,
        true,
        'entryPoints',
        'GH_CONFIG_REFERENCE',
      );
  }
  rr.entryPoints = eps.filter((e) => defaults.entryPoints.includes(e));
  const declared: Reference[] = [
    ...(cfg.middlewares ?? []).map((m): Reference => ({ kind: 'middleware', name: m, field: 'middlewares' })),
    { kind: 'service', name: cfg.service, field: 'service' },
  ];
  ctx.nodes.push({
    label: 'router',
    item: rr,
    declared,
    resolved: [],
    done(resolved) {
      rr.middlewares = resolved.filter((r) => r.kind === 'middleware').map((r) => r.name);
      rr.service = resolved.find((r) => r.kind === 'service')?.name ?? '';
    },
  });
}
