/**
 * The qualify and validate passes for serversTransports, services and
 * middlewares: each item of each fragment gets its qualified name and a
 * runtime entry, its shape is checked (one schema-error formatter), and, when
 * the shape is right, the references it declares are queued for the resolve
 * pass. A service's or middleware's kind comes from its registry.
 */
import type { ConfigFragment, Item } from '../model.js';
import type { RuntimeMiddleware, RuntimeService, RuntimeServersTransport, ServiceKind, Snapshot } from '../runtime.js';
import { ServersTransportSchema, type MiddlewareConfig, type ServersTransportConfig, type ServiceConfig } from '../schema.js';
import { didYouMean } from '../../util/closest.js';
import { canonicalFields } from '../field-case.js';
import { qualify } from './qualify.js';
import type { KindRegistry, Problem, Reference } from './registry.js';
import type { RefNode } from './resolve.js';
import type { StatusBook, StatusItem } from './status.js';
import { schemaProblems } from './validate.js';

/** What the passes share. */
export interface PassContext {
  readonly snap: Snapshot;
  readonly book: StatusBook;
  /** Items whose references the resolve pass follows. */
  readonly nodes: RefNode[];
}

export function collectTransport(ctx: PassContext, frag: ConfigFragment, local: string, item: Item<ServersTransportConfig>): void {
  const name = qualify(local, frag.provider);
  const rt: RuntimeServersTransport = {
    name,
    provider: frag.provider,
    status: 'enabled',
    errors: [],
    source: item.source,
    config: item.value,
    usedBy: [],
  };
  ctx.snap.serversTransports[name] = ctx.book.track('serversTransport', rt);
  const problems = schemaProblems(ServersTransportSchema, item.value);
  record(ctx, rt, '', problems, true);
  if (problems.length === 0) record(ctx, rt, '', transportWarnings(item.value), false);
}

/** Settings that work but weaken security: a warning on the transport (API, check, log) for as long as they are on. */
function transportWarnings(t: ServersTransportConfig): Problem[] {
  const out: Problem[] = [];
  if (t.insecureSkipVerify === true)
    out.push({
      path: 'insecureSkipVerify',
      message:
        'insecureSkipVerify is on: backend certificates are not verified (anyone on the path can impersonate the backend); give rootCAs instead',
      critical: false,
    });
  return out;
}

export function collectService<S>(
  ctx: PassContext,
  registry: KindRegistry<S, ServiceKind>,
  frag: ConfigFragment,
  local: string,
  item: Item<ServiceConfig>,
): void {
  const name = qualify(local, frag.provider);
  const cfg = item.value as Record<string, unknown>;
  const rs: RuntimeService = {
    name,
    provider: frag.provider,
    type: 'loadbalancer',
    status: 'enabled',
    errors: [],
    source: item.source,
    config: item.value,
    usedBy: [],
    refs: [],
  };
  ctx.snap.services[name] = ctx.book.track('service', rs);
  // Traefik v3: `middlewares` beside the kind run before the service, wherever it is used from.
  const keys = isObject(cfg) ? Object.keys(cfg).filter((k) => k !== 'middlewares') : [];
  const mws = isObject(cfg) ? cfg.middlewares : undefined;
  if (mws !== undefined && !(Array.isArray(mws) && mws.every((m) => typeof m === 'string' && m !== ''))) {
    ctx.book.addFieldError(rs, 'expected a list of middleware names', true, 'middlewares');
    return;
  }
  const unknown = keys.filter((k) => registry.get(k) === undefined);
  for (const k of unknown) ctx.book.addError(rs, `unknown service kind "${k}"${didYouMean(k, registry.types())}`, true, k);
  const kinds = keys.flatMap((key) => {
    const def = registry.get(key);
    return def === undefined ? [] : [{ key, def }];
  });
  const only = kinds.length === 1 ? kinds[0] : undefined;
  if (only === undefined) {
    const expected = `expected exactly one of ${registry.types().join(', ')}`;
    // An unknown key alone already says what is wrong.
    if (unknown.length === 0 || kinds.length > 1)
      ctx.book.addError(rs, kinds.length === 0 ? expected : `${expected}, got ${kinds.map((k) => k.key).join(' and ')}`, true);
    return;
  }
  rs.type = registry.typeOf(only.def);
  const extra = ((mws ?? []) as string[]).map((m, i): Reference => ({ kind: 'middleware', name: m, field: `middlewares[${i}]` }));
  checkKind(ctx, rs, registry, only.def, only.key, cfg[only.key], 'service', extra);
}

export function collectMiddleware<M>(
  ctx: PassContext,
  registry: KindRegistry<M>,
  frag: ConfigFragment,
  local: string,
  item: Item<MiddlewareConfig>,
): void {
  const name = qualify(local, frag.provider);
  const keys = isObject(item.value) ? Object.keys(item.value) : [];
  const def = keys.length === 1 ? registry.get(keys[0] as string) : undefined;
  const schema = def === undefined ? undefined : registry.schemaOf?.(def);
  // Traefik's file provider: option names in any case (`Headers.CustomResponseHeaders`), spelled as the schema does.
  const config =
    frag.fieldCase === 'insensitive' && schema !== undefined
      ? { [keys[0] as string]: canonicalFields(schema, item.value[keys[0] as string]) }
      : item.value;
  const rm: RuntimeMiddleware = {
    name,
    provider: frag.provider,
    type: keys[0] ?? '',
    status: 'enabled',
    errors: [],
    source: item.source,
    config,
    usedBy: [],
    refs: [],
  };
  ctx.snap.middlewares[name] = ctx.book.track('middleware', rm);
  if (keys.length !== 1) {
    ctx.book.addError(rm, `expected exactly one middleware type, got ${keys.length === 0 ? 'none' : keys.join(', ')}`, true);
    return;
  }
  const key = keys[0] as string;
  if (def === undefined) {
    ctx.book.addError(rm, `unknown middleware type "${key}"${didYouMean(key, registry.types())}`, true, key);
    return;
  }
  rm.type = registry.typeOf(def);
  checkKind(ctx, rm, registry, def, key, config[key], 'middleware');
}

/** Shape, then (when the shape is right) meaning and references, through the kind's registry. */
function checkKind<D>(
  ctx: PassContext,
  item: RuntimeService | RuntimeMiddleware,
  registry: KindRegistry<D>,
  def: D,
  key: string,
  value: unknown,
  label: 'service' | 'middleware',
  extra: readonly Reference[] = [],
): void {
  const shape = registry.validate(def, value);
  record(ctx, item, key, shape, true);
  if (shape.length > 0) return;
  record(ctx, item, key, registry.check?.(def, value) ?? [], false);
  const declared = [...extra, ...registry.references(def, value).map((r) => ({ ...r, field: joinField(key, r.field) }))];
  if (declared.length > 0) ctx.nodes.push({ label, item, declared, resolved: item.refs });
}

/** Each problem as an error of `item`, its path under `prefix` (the kind's key); `shape`: schema problems, which name their field. */
function record(ctx: PassContext, item: StatusItem, prefix: string, problems: readonly Problem[], shape: boolean): void {
  for (const p of problems) {
    const field = joinField(prefix, p.path) || undefined;
    if (shape) ctx.book.addFieldError(item, p.message, p.critical !== false, field);
    else ctx.book.addError(item, p.message, p.critical !== false, field);
  }
}

/** `chain` + `middlewares[0]` → `chain.middlewares[0]`; `[0]` joins without a dot. */
export function joinField(prefix: string, path: string): string {
  if (prefix === '') return path;
  if (path === '') return prefix;
  return path.startsWith('[') ? `${prefix}${path}` : `${prefix}.${path}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
