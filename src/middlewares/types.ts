import type { Static, TSchema } from '@sinclair/typebox';
import type { Handler, Middleware } from '../http/handler.js';
import type { Logger } from '../log.js';
import type { Problem, Reference } from '../config/compile/registry.js';

export type { Handler, Middleware, Problem, Reference };

/**
 * Cross-worker state for middlewares that must hold a limit across all worker
 * processes (rateLimit). Implementations: in-process (one worker), IPC to the
 * primary (cluster), Redis (several replicas).
 */
export interface RateLimitStore {
  /**
   * Token bucket: refills `ratePerSecond` tokens per second up to `burst`.
   * Takes one token from bucket `key`; resolves `{ allowed, retryAfterMs }`.
   */
  take(key: string, ratePerSecond: number, burst: number): Promise<{ allowed: boolean; retryAfterMs: number }>;
}

/** What a middleware factory receives besides its options. */
export interface MiddlewareDeps {
  /** Qualified name, e.g. `auth@file` or `add-calc-headers@kubernetescrd`. */
  readonly name: string;
  /** Provider suffix of the name (`file`, `kubernetescrd`, `internal`). */
  readonly provider: string;
  /**
   * Handler of a service, by the name as written in the options. Only names
   * that `references` declared are answered (the compiler resolved them);
   * throws an Error with a clear message otherwise.
   */
  service(name: string): Handler;
  /** Another middleware (chain), by the name as written; the same rule as `service`. */
  middleware(name: string): Middleware;
  readonly rateLimitStore: RateLimitStore;
  readonly log: Logger;
  /** Register cleanup run when the configuration snapshot that built this middleware is retired. */
  onClose(fn: () => void | Promise<void>): void;
  /** Directory for data files (e.g. basicAuth usersFile relative paths are resolved by the caller). */
  readonly dataDir: string;
}

/**
 * One middleware kind. `type` is its key in configuration (`headers`, `basicAuth`, …);
 * `schema` is the single source of its option types and validation; `references`
 * names the services and middlewares the options point to, so the compiler
 * checks them (missing, disabled, cycles) before any worker builds; `create`
 * builds the middleware once per configuration snapshot and may throw an Error
 * whose message names the offending field (`field: message`) for semantic problems.
 */
export interface MiddlewareDefinition<S extends TSchema = TSchema> {
  readonly type: string;
  /** Other accepted keys (e.g. ipWhiteList for ipAllowList). */
  readonly aliases?: readonly string[];
  readonly schema: S;
  /**
   * The services and middlewares the (valid) options point to, with the field
   * path inside the options (`service`, `middlewares[0]`). Names as written:
   * the compiler qualifies them. Omit when the options reference nothing.
   */
  references?(options: Static<S>): Reference[];
  /**
   * Problems of meaning in valid options, found at compile time so `check`
   * shows them (`critical: false` for a warning). Omit when `create` checks all.
   */
  check?(options: Static<S>): Problem[];
  create(options: Static<S>, deps: MiddlewareDeps): Middleware;
}

export function defineMiddleware<S extends TSchema>(def: MiddlewareDefinition<S>): MiddlewareDefinition<S> {
  return def;
}

/** Error thrown by `create` for a semantic problem in one field. */
export class MiddlewareOptionError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'MiddlewareOptionError';
  }
}
