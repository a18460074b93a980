/**
 * The answers the gateway makes itself, one row per reason (Envoy's response
 * flags, fastify's coded errors): a stable code, the status and the body a
 * client sees (Traefik's wording where Traefik answers the same case). The
 * code is recorded on the exchange (`ctx.code`) and shows in the JSON access
 * log (`GatehouseCode`), tap events and `gatehouse_answers_total{code}`.
 * Every row is documented in docs/errors.md (a test keeps the two in step).
 */
export interface AnswerSpec {
  readonly status: number;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export const ANSWERS = {
  /** No router matches the request. */
  GH_NO_ROUTER: { status: 404, body: '404 page not found' },
  /** No router matches, but a router (v2 rule syntax) matched everything except its `Method(...)`: Traefik v2's 405 (with `Allow`). */
  GH_METHOD_NOT_ALLOWED: { status: 405, body: '' },
  /** The entry point's own middlewares (`entryPoints.<name>.http.middlewares`) are broken. */
  GH_ENTRYPOINT_BROKEN: { status: 503, body: 'Service Unavailable' },
  /** This process has no configuration yet. */
  GH_NOT_READY: { status: 503, body: 'Service Unavailable: configuration not loaded yet', headers: { 'retry-after': '1' } },
  /** The service has no server, or none is healthy. */
  GH_NO_HEALTHY_SERVER: { status: 503, body: 'Service Unavailable' },
  /** Every server of a load balancer with `allDown: failClosed` is down (docs/failover.md). */
  GH_ALL_SERVERS_DOWN: { status: 503, body: 'Service Unavailable' },
  /** The backend refused, reset or broke the exchange before answering. */
  GH_UPSTREAM_FAILED: { status: 502, body: 'Bad Gateway' },
  /** The backend did not answer within the transport's timeouts. */
  GH_UPSTREAM_TIMEOUT: { status: 504, body: 'Gateway Timeout' },
  /** A request body over a `buffering` or mirroring limit. */
  GH_BODY_TOO_LARGE: { status: 413, body: 'Request Entity Too Large' },
  /** `rateLimit` refused the request. */
  GH_RATE_LIMITED: { status: 429, body: 'Too Many Requests' },
  /** `rateLimit` or `inFlightReq` with `redis.onFailure: closed` while Redis cannot answer (docs/redis.md). */
  GH_REDIS_UNAVAILABLE: {
    status: 503,
    body: 'Service Unavailable: the shared limit store (Redis) cannot be reached',
    headers: { 'retry-after': '1' },
  },
  /** `inFlightReq` refused the request. */
  GH_TOO_MANY_IN_FLIGHT: { status: 429, body: 'Too Many Requests' },
  /** `basicAuth` refused the credentials. */
  GH_UNAUTHORIZED: { status: 401, body: '401 Unauthorized\n' },
  /** `ipAllowList` refused the client address. */
  GH_FORBIDDEN: { status: 403, body: 'Forbidden' },
  /** `validateJwt` refused the token (status and JSON body as configured). */
  GH_TOKEN_REJECTED: { status: 401, body: '' },
  /** `validateJwt` could not get the keys to check the token (openid-config or JWKS unreachable). */
  GH_TOKEN_KEYS_UNAVAILABLE: { status: 503, body: '' },
  /** The identity issuer's token endpoint has no signing key shared with the other replicas (Redis unreachable since start; docs/identity.md). */
  GH_IDENTITY_KEYS_UNAVAILABLE: { status: 503, body: '' },
  /** `forwardAuth`: the authentication server answered no (its status, headers and body are relayed). */
  GH_AUTH_DENIED: { status: 401, body: '' },
  /** `forwardAuth`: the authentication server could not be reached. */
  GH_AUTH_SERVER_FAILED: { status: 500, body: '' },
  /** `circuitBreaker` is open (status as configured, 503 by default). */
  GH_CIRCUIT_OPEN: { status: 503, body: 'Service Unavailable' },
  /** A response body over `buffering.maxResponseBodyBytes`. */
  GH_RESPONSE_TOO_LARGE: { status: 500, body: 'Internal Server Error' },
  /** `noop@internal`. */
  GH_NOOP: { status: 418, body: "I'm a teapot" },
  /** A request the entry point refuses after parsing: an invalid Host, target or percent-encoding in the path (docs/http1.md). */
  GH_BAD_REQUEST: { status: 400, body: 'Bad Request' },
  /** `OPTIONS *`: the gateway answers for itself (Go's and Traefik's answer), nothing is forwarded. */
  GH_OPTIONS_ASTERISK: { status: 200, body: '' },
  /** A fault inside the gateway (a bug, or a middleware that could not run). */
  GH_INTERNAL: { status: 500, body: 'Internal Server Error' },
} as const satisfies Record<string, AnswerSpec>;

export type AnswerCode = keyof typeof ANSWERS;
