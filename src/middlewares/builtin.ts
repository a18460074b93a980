/** Every middleware Gatehouse ships, by configuration key. */
import type { TSchema } from '@sinclair/typebox';
import { MiddlewareRegistry } from './registry.js';
import type { MiddlewareDefinition } from './types.js';
import { middleware as addPrefix } from './add-prefix/index.js';
import { middleware as basicAuth } from './basic-auth/index.js';
import { middleware as buffering } from './buffering/index.js';
import { middleware as chain } from './chain/index.js';
import { middleware as circuitBreaker } from './circuit-breaker/index.js';
import { middleware as compress } from './compress/index.js';
import { middleware as errors } from './errors/index.js';
import { middleware as forwardAuth } from './forward-auth/index.js';
import { middleware as headers } from './headers/index.js';
import { middleware as inFlightReq } from './in-flight-req/index.js';
import { middleware as ipAllowList } from './ip-allow-list/index.js';
import { middleware as passTlsClientCert } from './pass-tls-client-cert/index.js';
import { middleware as rateLimit } from './rate-limit/index.js';
import { middleware as redirectRegex } from './redirect-regex/index.js';
import { middleware as redirectScheme } from './redirect-scheme/index.js';
import { middleware as replacePath } from './replace-path/index.js';
import { middleware as replacePathRegex } from './replace-path-regex/index.js';
import { middleware as retry } from './retry/index.js';
import { middleware as stripPrefix } from './strip-prefix/index.js';
import { middleware as stripPrefixRegex } from './strip-prefix-regex/index.js';
import { middleware as validateJwt } from './validate-jwt/index.js';

export const BUILTIN_MIDDLEWARES: readonly MiddlewareDefinition<TSchema>[] = [
  addPrefix,
  basicAuth,
  buffering,
  chain,
  circuitBreaker,
  compress,
  errors,
  forwardAuth,
  headers,
  inFlightReq,
  ipAllowList,
  passTlsClientCert,
  rateLimit,
  redirectRegex,
  redirectScheme,
  replacePath,
  replacePathRegex,
  retry,
  stripPrefix,
  stripPrefixRegex,
  validateJwt,
] as unknown as readonly MiddlewareDefinition<TSchema>[];

let shared: MiddlewareRegistry | null = null;

export function builtinRegistry(): MiddlewareRegistry {
  shared ??= new MiddlewareRegistry(BUILTIN_MIDDLEWARES);
  return shared;
}
