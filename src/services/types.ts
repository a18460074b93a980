/**
 * A service kind (Traefik's loadBalancer, weighted, mirroring, failover, and
 * the internal services), defined like a middleware: its schema, the
 * references its configuration declares (checked by the compiler), the checks
 * of meaning, and how to build its handler once per snapshot. The registry
 * (`registry.ts`) serves the compiler and the build from these definitions.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import type { Problem, Reference } from '../config/compile/registry.js';
import type { ServiceKind } from '../config/runtime.js';
import type { ServersTransportConfig } from '../config/schema.js';
import type { Handler } from '../http/handler.js';
import type { Logger } from '../log.js';
import type { PoolSet } from '../upstream/pools.js';
import type { ChildService } from './composite.js';
import type { ProbeRecord } from './health-check.js';

export type { ChildService, ProbeRecord, Problem, Reference };

/** One server of a load balancer as the API shows it (`serverHealth`): its state, and why it is down. */
export interface ServerHealth {
  readonly up: boolean;
  readonly weight: number;
  /** 1 to 5 (default 1; docs/failover.md). */
  readonly priority: number;
  /** Whether it takes traffic now (up, best priority, in the latency band, weight above 0; or failing open). */
  readonly inRotation: boolean;
  /** Mean latency of its passed probes in the sample window, ms; null: not measured. */
  readonly latencyMs: number | null;
  /** Why it is down (the last probe's status or error, the window's count; or the passive check). */
  readonly reason?: string;
  /** The last probes, oldest first (empty without an active health check). */
  readonly lastProbes: readonly ProbeRecord[];
}

/** A built service: its handler, whether it can answer, and (load balancers) its servers for the API. */
export interface BuiltService extends ChildService {
  readonly servers?: ReadonlyArray<{ readonly url: string; readonly healthy: boolean }>;
  /** Load balancers: url → the server's health and why, for the API's `serverHealth`. */
  serverHealth?(): Record<string, ServerHealth>;
}

/** What a service kind's `build` receives besides its configuration. */
export interface ServiceBuildDeps {
  /** Qualified name of the service being built. */
  readonly name: string;
  /**
   * A child service, by the name as written in the configuration. Only names
   * that `references` declared are answered (the compiler resolved them and
   * the build made them first); throws otherwise.
   */
  service(name: string): ChildService;
  /** The serversTransport named in the configuration (resolved), or the static default when `name` is undefined. */
  transport(name: string | undefined): { readonly name: string; readonly config: ServersTransportConfig | undefined };
  readonly pools: PoolSet;
  readonly log: Logger;
  /** Cleanup when the snapshot that built the service is retired (health checks). */
  onClose(fn: () => void | Promise<void>): void;
  readonly onServerStatus?: ((service: string, url: string, up: boolean) => void) | undefined;
  /** The handler of an enabled internal service (`api@internal`, …). */
  internal(name: string): Handler | undefined;
}

/**
 * One service kind. `kind` is the type the snapshot and the API show
 * (`loadbalancer`); `key` is its configuration key (`loadBalancer`), absent
 * for kinds the compiler creates itself (internal services).
 */
export interface ServiceDefinition<S extends TSchema = TSchema> {
  readonly kind: ServiceKind;
  readonly key?: string;
  readonly schema?: S;
  /** The services and serversTransport a (valid) configuration points to, names as written, fields relative to the kind. */
  references(config: Static<S>): Reference[];
  /** Problems of meaning in a valid configuration (a URL scheme); `critical: false` for a warning. */
  validate?(config: Static<S>): Problem[];
  /** The handler, once per snapshot. Throws an Error whose message says what is wrong. */
  build(config: Static<S>, deps: ServiceBuildDeps): BuiltService;
}

export function defineService<S extends TSchema>(def: ServiceDefinition<S>): ServiceDefinition<S> {
  return def;
}
