/**
 * The compiled configuration snapshot: plain, JSON-serialisable data (it is
 * sent from the primary to every worker), with Traefik's runtime status per
 * item. Never mutated after it is built.
 */
import type { ConfigIssue, SourceLocation } from '../errors.js';
import type { ExternalDnsMetadata, Resource } from './model.js';
import type { MiddlewareConfig, RouterConfig, ServersTransportConfig, ServiceConfig } from './schema.js';

export type ItemStatus = 'enabled' | 'disabled' | 'warning';

/**
 * A reference from a service or middleware to another item, as written and as
 * the compiler resolved it. The build follows `name` and never resolves again.
 */
export interface ResolvedRef {
  readonly kind: 'service' | 'middleware' | 'serversTransport';
  /** Field path inside the item's configuration, e.g. `weighted.services[0].name`. */
  readonly field: string;
  /** The name as written (`svc`, `svc@other`). */
  readonly ref: string;
  /** The qualified name it resolves to (`svc@file`); the item may not exist (then this one is disabled). */
  readonly name: string;
}

interface RuntimeItem {
  /** Qualified name, `name@provider`. */
  name: string;
  provider: string;
  status: ItemStatus;
  errors: string[];
  source: SourceLocation;
}

export interface RuntimeRouter extends RuntimeItem {
  config: RouterConfig;
  /** Entry points the router is attached to (defaults resolved). */
  entryPoints: string[];
  /** Effective priority (explicit, or the rule length). */
  priority: number;
  /** Qualified middleware names, in order. */
  middlewares: string[];
  /** Qualified service name. */
  service: string;
  ruleSyntax: 'v2' | 'v3';
  /** The ExternalDNS annotations and labels of its Kubernetes object (only those keys), for the DNS publisher. */
  externalDns?: ExternalDnsMetadata;
}

export interface RuntimeMiddleware extends RuntimeItem {
  /** Middleware type key, e.g. `headers`. */
  type: string;
  config: MiddlewareConfig;
  /** Routers and middlewares that use it (sorted). */
  usedBy: string[];
  /** Services and middlewares its options point to (`chain`, `errors`). */
  refs: ResolvedRef[];
}

export type ServiceKind = 'loadbalancer' | 'weighted' | 'highestrandomweight' | 'mirroring' | 'failover' | 'internal';

export interface RuntimeService extends RuntimeItem {
  type: ServiceKind;
  config: ServiceConfig;
  /** Routers, services and middlewares that use it (sorted). */
  usedBy: string[];
  /** Child services and the serversTransport it points to. */
  refs: ResolvedRef[];
}

export interface RuntimeServersTransport extends RuntimeItem {
  config: ServersTransportConfig;
  /** Services that use it (sorted). */
  usedBy: string[];
}

export interface Snapshot {
  /** Increases by one for every applied configuration. */
  revision: number;
  createdAt: string;
  routers: Record<string, RuntimeRouter>;
  middlewares: Record<string, RuntimeMiddleware>;
  services: Record<string, RuntimeService>;
  serversTransports: Record<string, RuntimeServersTransport>;
  /** Gatehouse kinds (Tenant, Application, …) as delivered (also shown in /api/rawdata). */
  resources: Resource[];
  /**
   * One compiled, secret-free, JSON-serialisable section per Gatehouse kind
   * compiler (src/config/kinds.ts), keyed by the compiler's `section` name:
   * consumers (identity, alerts, …) read their section and never compile again.
   */
  sections?: Record<string, unknown>;
  /** Every problem found (also attached to the items they disable). */
  issues: ConfigIssue[];
  /**
   * Every file or document a provider refuses now (it does not parse, cannot
   * be read, is too large), with what is served instead. Absent: none.
   */
  refused?: RefusedSource[];
}

/** A source a provider refused: shown in /api/overview, /api/rawdata, `check`, the dashboard and gatehouse_config_stale. */
export interface RefusedSource {
  /** The provider that refused it (`file`, `git`, …). */
  provider: string;
  /** The file (or provider-specific source name, e.g. `(provider git)`). */
  file: string;
  line?: number;
  column?: number;
  field?: string;
  /** Issue code (docs/errors.md), e.g. GH_CONFIG_PARSE. */
  code: string;
  message: string;
  /** ISO 8601: refused without interruption since. */
  since: string;
  /** ISO 8601: when the version still served was loaded; null when nothing of this source is served. */
  lastGood: string | null;
}
