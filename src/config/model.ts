/**
 * What providers hand to the compiler: fragments of dynamic configuration with
 * provider-local names and the source location of every item.
 */
import type { ConfigIssue, SourceLocation } from '../errors.js';
import type { MiddlewareConfig, RouterConfig, ServersTransportConfig, ServiceConfig } from './schema.js';
import type { TlsCertificateConfig, TlsStoreConfig } from './tls-schema.js';

/** One parsed document of a configuration file (YAML documents or one TOML file). */
export interface SourceDocument {
  /** Path of the file, as given to the provider. */
  readonly file: string;
  /** Index of the document in a multi-document YAML file (0-based). */
  readonly index: number;
  /** The parsed value (plain JSON-like data). */
  readonly value: unknown;
  /** 1-based line of the node at `path` inside this document, when known. */
  lineOf(path: readonly (string | number)[]): number | undefined;
}

/** A configuration item with where it came from. */
export interface Item<T> {
  readonly value: T;
  readonly source: SourceLocation;
}

/** Gatehouse kinds (gatehouse.dev/v1alpha1: Tenant, Application, AlertRule, …), passed through to their consumers. */
export interface Resource {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  readonly spec: unknown;
  readonly source: SourceLocation;
}

/**
 * The ExternalDNS annotations and labels of the Kubernetes object a router came from: only keys starting with
 * `external-dns.kubernetes.io/` or `external-dns.alpha.kubernetes.io/` (never other annotations, which may hold
 * secrets, e.g. kubectl's last-applied-configuration). Read by the DNS publisher (docs/dns.md).
 */
export interface ExternalDnsMetadata {
  readonly annotations?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * What one provider produces. Names are local to the provider (the compiler
 * qualifies them as `name@provider`); a reference that already contains `@`
 * points at another provider's item.
 */
export interface ConfigFragment {
  /** `file`, `kubernetescrd`, `internal`, … */
  readonly provider: string;
  readonly routers: Record<string, Item<RouterConfig>>;
  readonly middlewares: Record<string, Item<MiddlewareConfig>>;
  readonly services: Record<string, Item<ServiceConfig>>;
  readonly serversTransports: Record<string, Item<ServersTransportConfig>>;
  readonly tlsOptions: Record<string, Item<unknown>>;
  /**
   * `tls.certificates` (a list: certificates have no names); `certFile`/`keyFile` are paths or
   * inline PEM (Kubernetes Secrets arrive inline). Compiled by src/tls/compile.ts, never into the snapshot.
   */
  readonly tlsCertificates?: Item<TlsCertificateConfig>[];
  /** `tls.stores` by name (`default` is the one Gatehouse serves from). */
  readonly tlsStores?: Record<string, Item<TlsStoreConfig>>;
  /**
   * `tcp.routers`, `tcp.services`, `tcp.middlewares` (IngressRouteTCP, MiddlewareTCP) as written;
   * checked and compiled by src/tcp/compile.ts into `snapshot.sections.tcp`. Optional: older fragments have none.
   */
  readonly tcpRouters?: Record<string, Item<unknown>>;
  readonly tcpServices?: Record<string, Item<unknown>>;
  readonly tcpMiddlewares?: Record<string, Item<unknown>>;
  readonly resources: Resource[];
  /**
   * By provider-local router name (as in `routers` and `tcpRouters`): the ExternalDNS metadata of the object each
   * router came from (Kubernetes objects only). Kept beside the router configuration, which is schema-checked and
   * shown as written; the compiler copies it to the runtime router (`externalDns`). Absent: none.
   */
  externalDns?: {
    readonly routers: Record<string, ExternalDnsMetadata>;
    readonly tcpRouters: Record<string, ExternalDnsMetadata>;
  };
  /** Problems found while converting (each disables only what it names). */
  readonly issues: ConfigIssue[];
  /**
   * `insensitive`: field names were written for Traefik's file provider, which
   * matches them case-insensitively; the compiler spells middleware options as
   * their schema does before validating them (`config/field-case.ts`).
   * Absent: fields are matched exactly (Kubernetes objects).
   */
  readonly fieldCase?: 'insensitive';
}

export function emptyFragment(provider: string): ConfigFragment {
  return {
    provider,
    routers: Object.create(null) as Record<string, Item<RouterConfig>>,
    middlewares: Object.create(null) as Record<string, Item<MiddlewareConfig>>,
    services: Object.create(null) as Record<string, Item<ServiceConfig>>,
    serversTransports: Object.create(null) as Record<string, Item<ServersTransportConfig>>,
    tlsOptions: Object.create(null) as Record<string, Item<unknown>>,
    tlsCertificates: [],
    tlsStores: Object.create(null) as Record<string, Item<TlsStoreConfig>>,
    tcpRouters: Object.create(null) as Record<string, Item<unknown>>,
    tcpServices: Object.create(null) as Record<string, Item<unknown>>,
    tcpMiddlewares: Object.create(null) as Record<string, Item<unknown>>,
    resources: [],
    issues: [],
  };
}
