/**
 * Traefik's file-provider format (`http.routers`, `http.middlewares`,
 * `http.services`, `http.serversTransports`, `tls.options`, `tcp.routers`,
 * `tcp.services`, `tcp.middlewares`) → a ConfigFragment
 * of provider `file`, every item with its file and line. Structure is checked
 * against the TypeBox schemas (an invalid item is left out, with an issue per
 * error at the line of the offending field); middleware options are checked
 * later by the compiler with each middleware's own schema.
 */
import { isDeepStrictEqual } from 'node:util';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import type { ConfigIssue, SourceLocation } from '../../errors.js';
import { describeSchemaError } from '../../config/compile/validate.js';
import { closest } from '../../util/closest.js';
import { emptyFragment, type ConfigFragment, type Item, type SourceDocument } from '../../config/model.js';
import { canonicalFields } from '../../config/field-case.js';
import { RouterSchema, ServersTransportSchema, ServiceSchema } from '../../config/schema.js';
import { TlsCertificateSchema, TlsOptionsSchema, TlsStoreSchema, type TlsCertificateConfig } from '../../config/tls-schema.js';
import { TcpMiddlewareSchema, TcpRouterSchema, TcpServiceSchema } from '../../tcp/schema.js';

const TOP_KEYS = ['http', 'tcp', 'udp', 'tls'] as const;
const HTTP_KEYS = ['routers', 'middlewares', 'services', 'serversTransports'] as const;
const TLS_KEYS = ['options', 'certificates', 'stores'] as const;
const TCP_KEYS = ['routers', 'services', 'middlewares'] as const;
const SERVICE_KINDS = ['loadBalancer', 'weighted', 'highestRandomWeight', 'mirroring', 'failover'] as const;
const TCP_SERVICE_KINDS = ['loadBalancer', 'weighted'] as const;

type Section =
  | 'routers'
  | 'middlewares'
  | 'services'
  | 'serversTransports'
  | 'tlsOptions'
  | 'tlsStores'
  | 'tcpRouters'
  | 'tcpServices'
  | 'tcpMiddlewares';

const LABEL: Record<Section, { object: string; field: string[] }> = {
  routers: { object: 'router', field: ['http', 'routers'] },
  middlewares: { object: 'middleware', field: ['http', 'middlewares'] },
  services: { object: 'service', field: ['http', 'services'] },
  serversTransports: { object: 'serversTransport', field: ['http', 'serversTransports'] },
  tlsOptions: { object: 'tls option', field: ['tls', 'options'] },
  tlsStores: { object: 'tls store', field: ['tls', 'stores'] },
  tcpRouters: { object: 'tcp router', field: ['tcp', 'routers'] },
  tcpServices: { object: 'tcp service', field: ['tcp', 'services'] },
  tcpMiddlewares: { object: 'tcp middleware', field: ['tcp', 'middlewares'] },
};

/** The schema whose spelling field names take (Traefik's file provider matches them case-insensitively). */
const SCHEMAS: Partial<Record<Section, TSchema>> = {
  routers: RouterSchema,
  services: ServiceSchema,
  serversTransports: ServersTransportSchema,
  tlsOptions: TlsOptionsSchema,
  tlsStores: TlsStoreSchema,
  tcpRouters: TcpRouterSchema,
  tcpServices: TcpServiceSchema,
  tcpMiddlewares: TcpMiddlewareSchema,
};

/** `key` as one of `known` spells it (case-insensitive), or as written. */
function spelled<K extends string>(key: string, known: readonly K[]): string {
  return known.find((k) => k.toLowerCase() === key.toLowerCase()) ?? key;
}

let checks: Partial<Record<Section, TypeCheck<TSchema>>> | undefined;
function checker(section: Section): TypeCheck<TSchema> | undefined {
  checks ??= {
    routers: TypeCompiler.Compile(RouterSchema),
    services: TypeCompiler.Compile(ServiceSchema),
    serversTransports: TypeCompiler.Compile(ServersTransportSchema),
    tlsOptions: TypeCompiler.Compile(TlsOptionsSchema),
    tlsStores: TypeCompiler.Compile(TlsStoreSchema),
    tcpRouters: TypeCompiler.Compile(TcpRouterSchema),
    tcpServices: TypeCompiler.Compile(TcpServiceSchema),
    tcpMiddlewares: TypeCompiler.Compile(TcpMiddlewareSchema),
  };
  return checks[section];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A Kubernetes object (IngressRoute, Service, Gatehouse kinds, …): handled by other converters. */
export function isKubernetesObject(v: unknown): boolean {
  return isObject(v) && typeof v.apiVersion === 'string' && typeof v.kind === 'string';
}

function hint(word: string, known: readonly string[]): string {
  const c = closest(word, known);
  return c === undefined ? `expected one of ${known.join(', ')}` : `did you mean "${c}"?`;
}

interface Candidate {
  section: Section;
  name: string;
  item: Item<unknown>;
}

/** Converts the documents of the file provider into one fragment. */
export function fromTraefikFileDocuments(docs: readonly SourceDocument[], provider = 'file'): ConfigFragment {
  const frag: ConfigFragment = { ...emptyFragment(provider), fieldCase: 'insensitive' };
  const issues = frag.issues;
  const candidates: Candidate[] = [];
  let warnedL4 = false;

  for (const doc of docs) {
    const v = doc.value;
    if (v === null || v === undefined || isKubernetesObject(v)) continue;
    const at = (path: (string | number)[], extra: Omit<ConfigIssue, 'file' | 'line'>): ConfigIssue => ({
      file: doc.file,
      line: doc.lineOf(path),
      ...extra,
    });
    if (!isObject(v)) {
      issues.push(at([], { message: 'expected a mapping with http, tcp, udp or tls keys' }));
      continue;
    }
    for (const [written, body] of Object.entries(v)) {
      const key = spelled(written, TOP_KEYS);
      if (!(TOP_KEYS as readonly string[]).includes(key)) {
        issues.push(at([key], { field: key, message: `unknown top-level key "${key}": ${hint(key, TOP_KEYS)}` }));
        continue;
      }
      if (body === null || body === undefined) continue;
      if (key === 'udp') {
        if (!warnedL4)
          issues.push(at([key], { field: key, severity: 'warning', message: 'UDP routing is not supported yet: section ignored' }));
        warnedL4 = true;
        continue;
      }
      if (!isObject(body)) {
        issues.push(at([key], { field: key, message: 'expected a mapping' }));
        continue;
      }
      const known = key === 'http' ? HTTP_KEYS : key === 'tcp' ? TCP_KEYS : TLS_KEYS;
      for (const [writtenSub, entries] of Object.entries(body)) {
        const sub = spelled(writtenSub, known);
        if (!(known as readonly string[]).includes(sub)) {
          issues.push(at([key, sub], { field: `${key}.${sub}`, message: `unknown key "${key}.${sub}": ${hint(sub, known)}` }));
          continue;
        }
        if (entries === null || entries === undefined) continue;
        if (key === 'tls' && sub === 'certificates') {
          readCertificates(doc, entries, frag.tlsCertificates ?? [], issues);
          continue;
        }
        if (!isObject(entries)) {
          issues.push(at([key, sub], { field: `${key}.${sub}`, message: 'expected a mapping of names to definitions' }));
          continue;
        }
        const section: Section =
          key === 'tls'
            ? sub === 'stores'
              ? 'tlsStores'
              : 'tlsOptions'
            : key === 'tcp'
              ? sub === 'routers'
                ? 'tcpRouters'
                : sub === 'services'
                  ? 'tcpServices'
                  : 'tcpMiddlewares'
              : (sub as Section);
        const schema = SCHEMAS[section];
        for (const [name, written] of Object.entries(entries)) {
          const path = [key, sub, name];
          const value = traefikDefaults(section, schema === undefined ? written : canonicalFields(schema, written), (rel, message) =>
            issues.push({
              file: doc.file,
              line: doc.lineOf([...path, ...rel]) ?? doc.lineOf(path),
              object: `${LABEL[section].object} "${name}"`,
              field: [...path, ...rel].join('.'),
              severity: 'warning',
              message,
            }),
          );
          const source: SourceLocation = {
            file: doc.file,
            line: doc.lineOf(path),
            object: `${LABEL[section].object} "${name}"`,
            field: path.join('.'),
          };
          if (validate(section, name, value, doc, path, source, issues)) candidates.push({ section, name, item: { value, source } });
        }
      }
    }
  }

  // The same name in two places: kept once when identical, dropped everywhere when not (Traefik's merge).
  const byKey = new Map<string, Candidate[]>();
  for (const c of candidates) {
    const k = `${c.section}\u0000${c.name}`;
    const list = byKey.get(k);
    if (list === undefined) byKey.set(k, [c]);
    else list.push(c);
  }
  for (const list of byKey.values()) {
    const first = list[0] as Candidate;
    if (list.every((c) => isDeepStrictEqual(c.item.value, first.item.value))) {
      (frag[first.section] as Record<string, Item<unknown>>)[first.name] = first.item;
      continue;
    }
    const places = list.map((c) =>
      c.item.source.line !== undefined ? `${c.item.source.file}:${c.item.source.line}` : (c.item.source.file ?? '?'),
    );
    for (const c of list) {
      const others = places.filter((p) => p !== places[list.indexOf(c)]);
      issues.push({
        ...c.item.source,
        message: `defined more than once with different configurations (also at ${others.join(', ')}): all definitions are ignored`,
      });
    }
  }
  return frag;
}

/**
 * What Traefik's decoder makes of shapes it accepts but the schema does not:
 * a loadBalancer without `servers`, with `servers: {}` (a TOML table or an
 * empty YAML mapping: the FAQ's "unavailable" service) or with servers that
 * have no url: no servers (each left out with a warning), so every request
 * answers 503.
 */
function traefikDefaults(section: Section, value: unknown, warn: (path: (string | number)[], message: string) => void): unknown {
  if (section !== 'services' || !isObject(value) || !isObject(value.loadBalancer)) return value;
  const lb = value.loadBalancer;
  const servers = lb.servers;
  if (servers === undefined || servers === null || (isObject(servers) && Object.keys(servers).length === 0))
    return { ...value, loadBalancer: { ...lb, servers: [] } };
  if (!Array.isArray(servers)) return value;
  const kept = servers.filter((srv: unknown, i) => {
    if (!isObject(srv) || srv.url !== undefined) return true;
    warn(['loadBalancer', 'servers', i], 'server without url: left out (a load balancer without servers answers 503)');
    return false;
  });
  return kept.length === servers.length ? value : { ...value, loadBalancer: { ...lb, servers: kept } };
}

let certificateCheck: TypeCheck<TSchema> | undefined;

/** `tls.certificates`: a list (certificates have no names); each checked, then kept with its file and line. */
function readCertificates(
  doc: SourceDocument,
  entries: unknown,
  out: ConfigFragment['tlsCertificates'] & object,
  issues: ConfigIssue[],
): void {
  if (!Array.isArray(entries)) {
    issues.push({
      file: doc.file,
      line: doc.lineOf(['tls', 'certificates']),
      field: 'tls.certificates',
      message: 'expected a list of certificates',
    });
    return;
  }
  certificateCheck ??= TypeCompiler.Compile(TlsCertificateSchema);
  entries.forEach((written: unknown, i) => {
    const path = ['tls', 'certificates', i];
    const source: SourceLocation = { file: doc.file, line: doc.lineOf(path), object: `tls certificate #${i + 1}`, field: path.join('.') };
    const value = canonicalFields(TlsCertificateSchema, written);
    if (certificateCheck!.Check(value)) {
      out.push({ value: value as TlsCertificateConfig, source });
      return;
    }
    const first = [...certificateCheck!.Errors(value)][0];
    const rel = first === undefined ? [] : first.path.split('/').filter((p) => p !== '');
    issues.push({
      ...source,
      line: doc.lineOf([...path, ...rel]) ?? source.line,
      field: [...path, ...rel].join('.'),
      message: first === undefined ? 'invalid certificate' : describeSchemaError(first),
    });
  });
}

/** Fields of Traefik's model that Gatehouse refuses on purpose, with why (docs/traefik-compatibility.md). */
const REFUSED_FIELDS: Partial<Record<Section, Record<string, string>>> = {
  routers: {
    observability:
      'observability (Traefik v3 per-router access log, metrics and tracing switches) is not supported yet: remove it; the access log and metrics cover every router',
    parentRefs: 'parentRefs (Traefik v3.6 multi-layer routing) is not supported yet: give the router its own rule, middlewares and service',
  },
};

function validate(
  section: Section,
  name: string,
  value: unknown,
  doc: SourceDocument,
  path: (string | number)[],
  source: SourceLocation,
  issues: ConfigIssue[],
): boolean {
  const fail = (rel: (string | number)[], message: string): false => {
    const full = [...path, ...rel];
    issues.push({ ...source, line: doc.lineOf(full) ?? nearestLine(doc, full) ?? source.line, field: full.join('.'), message });
    return false;
  };
  if (name.includes('@')) return fail([], `invalid name "${name}": "@" is reserved for provider qualifiers`);
  if (name.trim() === '') return fail([], 'invalid empty name');
  if (!isObject(value)) return fail([], 'expected a mapping');
  const refused = Object.entries(REFUSED_FIELDS[section] ?? {}).filter(([f]) => value[f] !== undefined);
  if (refused.length > 0) {
    for (const [f, why] of refused) fail([f], why);
    return false;
  }

  if (section === 'middlewares' || section === 'tcpMiddlewares') {
    const keys = Object.keys(value);
    if (keys.length !== 1) return fail([], `expected exactly one middleware type, got ${keys.length === 0 ? 'none' : keys.join(', ')}`);
    if (section === 'middlewares') return true;
  }
  if (section === 'tcpServices') {
    const kinds = TCP_SERVICE_KINDS.filter((k) => value[k] !== undefined);
    if (kinds.length !== 1)
      return fail([], `expected exactly one of ${TCP_SERVICE_KINDS.join(', ')}${kinds.length === 0 ? '' : `, got ${kinds.join(' and ')}`}`);
  }
  if (section === 'services') {
    const kinds = SERVICE_KINDS.filter((k) => value[k] !== undefined);
    if (kinds.length !== 1)
      return fail(
        [],
        kinds.length === 0
          ? `expected exactly one of ${SERVICE_KINDS.join(', ')}`
          : `expected exactly one of ${SERVICE_KINDS.join(', ')}, got ${kinds.join(' and ')}`,
      );
  }
  const fields: Record<string, unknown> = value;
  const check = checker(section);
  if (check === undefined || check.Check(value)) return true;
  const seen = new Set<string>();
  for (const e of check.Errors(value)) {
    if (seen.has(e.path)) continue;
    seen.add(e.path);
    const rel = e.path
      .split('/')
      .filter((p) => p !== '')
      .map((p) => (/^\d+$/.test(p) ? Number(p) : p.replace(/~1/g, '/').replace(/~0/g, '~')));
    let message = describeSchemaError(e);
    // No service and no misspelt one: the shape of a parent router in Traefik v3.6 multi-layer routing.
    if (section === 'routers' && e.path === '/service' && fields.service === undefined && closestKey(fields, 'service') === undefined)
      message +=
        ': every router needs a service (a router without one is a parent in Traefik v3.6 multi-layer routing, which is not supported yet)';
    fail(rel, message);
    if (seen.size >= 10) break;
  }
  return false;
}

/** A key of `value` (other than `field` itself) that looks like a misspelling of `field`. */
function closestKey(value: Record<string, unknown>, field: string): string | undefined {
  return Object.keys(value).find((k) => k !== field && closest(k, [field]) !== undefined);
}

/** Line of the closest existing ancestor of `path`. */
function nearestLine(doc: SourceDocument, path: (string | number)[]): number | undefined {
  for (let n = path.length - 1; n >= 0; n--) {
    const l = doc.lineOf(path.slice(0, n));
    if (l !== undefined) return l;
  }
  return undefined;
}
