/**
 * The dynamic-configuration model (Traefik's file-provider shape), as TypeBox
 * schemas: the single source of the TypeScript types, of runtime validation
 * and of the CRD openAPIV3Schema. Middleware option schemas live with each
 * middleware (src/middlewares/<name>/) and are collected by the registry.
 */
import { Type, type Static } from '@sinclair/typebox';

const Duration = Type.Union([Type.String(), Type.Number()], { description: 'Go duration ("10s", "250ms") or seconds' });
export { Duration };

export const ServerSchema = Type.Object(
  {
    url: Type.String({ description: 'http://, https:// or h2c:// URL of the backend server' }),
    /** Traefik: default 1, 0 = never; with origin-group settings (docs/failover.md) at most 1000, Front Door's range. */
    weight: Type.Optional(Type.Integer({ minimum: 0 })),
    preservePath: Type.Optional(Type.Boolean()),
    /** Front Door's origin priority: the healthy servers of the lowest number take the traffic (default 1; docs/failover.md). */
    priority: Type.Optional(Type.Integer({ minimum: 1, maximum: 5 })),
    /** Front Door's origin host header: the Host sent to (and probed on) this server; overrides the service's `hostHeader`. */
    hostHeader: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

export const HealthCheckSchema = Type.Object(
  {
    scheme: Type.Optional(Type.String()),
    mode: Type.Optional(Type.Union([Type.Literal('http'), Type.Literal('grpc')])),
    path: Type.Optional(Type.String()),
    method: Type.Optional(Type.String()),
    /** Traefik's one status (200), or Gatehouse's list: "200-299,404" or ["200-299", "404"] (docs/failover.md). */
    status: Type.Optional(
      Type.Union([Type.Integer({ minimum: 100, maximum: 599 }), Type.String(), Type.Array(Type.String(), { minItems: 1 })], {
        description: 'a status (200), or statuses and ranges ("200-299,404" or a list of them)',
      }),
    ),
    /** Front Door: the last `sampleSize` probes decide (default 1: each probe decides, Traefik). */
    sampleSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 255 })),
    /** Front Door: healthy when at least this many of the last `sampleSize` probes passed (default: sampleSize). */
    successfulSamplesRequired: Type.Optional(Type.Integer({ minimum: 1, maximum: 255 })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    interval: Type.Optional(Duration),
    unhealthyInterval: Type.Optional(Duration),
    timeout: Type.Optional(Duration),
    hostname: Type.Optional(Type.String()),
    followRedirects: Type.Optional(Type.Boolean()),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: false },
);

/** Traefik v3 passive health check: a server that fails `maxFailedAttempts` times within `failureWindow` leaves the rotation for `failureWindow`. */
export const PassiveHealthCheckSchema = Type.Object(
  {
    failureWindow: Type.Optional(Duration),
    maxFailedAttempts: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

/** Health propagation on services made of services (Traefik's empty `healthCheck: {}`). */
const PropagationSchema = Type.Object({}, { additionalProperties: false });

export const StickyCookieSchema = Type.Object(
  {
    name: Type.Optional(Type.String()),
    secure: Type.Optional(Type.Boolean()),
    httpOnly: Type.Optional(Type.Boolean()),
    sameSite: Type.Optional(Type.String()),
    maxAge: Type.Optional(Type.Integer()),
    path: Type.Optional(Type.String()),
    domain: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const StickySchema = Type.Object({ cookie: Type.Optional(StickyCookieSchema) }, { additionalProperties: false });

export const LoadBalancerSchema = Type.Object(
  {
    /** Empty: every request answers 503 (Traefik's "unavailable" service; the file format reads an absent list, `{}` and servers without url so). */
    servers: Type.Array(ServerSchema),
    strategy: Type.Optional(
      Type.Union([Type.Literal('wrr'), Type.Literal('p2c'), Type.Literal('hrw'), Type.Literal('leasttime')], {
        description: 'wrr (default), p2c, hrw; leasttime is refused',
      }),
    ),
    passHostHeader: Type.Optional(Type.Boolean()),
    /** Gatehouse: send this Host header to every server (Front Door's backend host header). */
    hostHeader: Type.Optional(Type.String()),
    healthCheck: Type.Optional(HealthCheckSchema),
    passiveHealthCheck: Type.Optional(PassiveHealthCheckSchema),
    sticky: Type.Optional(StickySchema),
    responseForwarding: Type.Optional(Type.Object({ flushInterval: Type.Optional(Duration) }, { additionalProperties: false })),
    serversTransport: Type.Optional(Type.String()),
    /** Front Door's latency sensitivity, ms: servers whose probe latency is within this of the fastest share the traffic (default 0; docs/failover.md). */
    latencySensitivity: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000 })),
    /** When every server is down: failOpen sends to them anyway, failClosed answers 503 GH_ALL_SERVERS_DOWN (absent: Traefik's 503). */
    allDown: Type.Optional(Type.Union([Type.Literal('failOpen'), Type.Literal('failClosed')])),
  },
  { additionalProperties: false },
);

export const WeightedSchema = Type.Object(
  {
    services: Type.Array(
      Type.Object({ name: Type.String(), weight: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: false }),
    ),
    sticky: Type.Optional(StickySchema),
    healthCheck: Type.Optional(PropagationSchema),
  },
  { additionalProperties: false },
);

/** Traefik v3 `highestRandomWeight`: the child with the highest weighted score for the client's IP (rendezvous hashing). */
export const HighestRandomWeightSchema = Type.Object(
  {
    services: Type.Array(
      Type.Object({ name: Type.String(), weight: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: false }),
    ),
    healthCheck: Type.Optional(PropagationSchema),
  },
  { additionalProperties: false },
);

export const MirroringSchema = Type.Object(
  {
    service: Type.String(),
    mirrorBody: Type.Optional(Type.Boolean()),
    maxBodySize: Type.Optional(Type.Integer()),
    mirrors: Type.Optional(
      Type.Array(
        Type.Object(
          { name: Type.String(), percent: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })) },
          { additionalProperties: false },
        ),
      ),
    ),
    healthCheck: Type.Optional(PropagationSchema),
  },
  { additionalProperties: false },
);

export const FailoverSchema = Type.Object(
  {
    service: Type.String(),
    fallback: Type.String(),
    healthCheck: Type.Optional(PropagationSchema),
    /** Traefik v3: a main-service answer with one of these statuses is replaced by the fallback's answer to the same request. */
    errors: Type.Optional(
      Type.Object(
        {
          status: Type.Optional(Type.Array(Type.String())),
          maxRequestBodyBytes: Type.Optional(Type.Integer({ minimum: -1 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** Exactly one of loadBalancer, weighted, highestRandomWeight, mirroring, failover; `middlewares` (Traefik v3) run before it. */
export const ServiceSchema = Type.Object(
  {
    middlewares: Type.Optional(Type.Array(Type.String())),
    loadBalancer: Type.Optional(LoadBalancerSchema),
    weighted: Type.Optional(WeightedSchema),
    highestRandomWeight: Type.Optional(HighestRandomWeightSchema),
    mirroring: Type.Optional(MirroringSchema),
    failover: Type.Optional(FailoverSchema),
  },
  { additionalProperties: false },
);

export const RouterTlsSchema = Type.Object(
  {
    options: Type.Optional(Type.String()),
    certResolver: Type.Optional(Type.String()),
    domains: Type.Optional(Type.Array(Type.Object({ main: Type.Optional(Type.String()), sans: Type.Optional(Type.Array(Type.String())) }))),
  },
  { additionalProperties: false },
);

export const RouterSchema = Type.Object(
  {
    entryPoints: Type.Optional(Type.Array(Type.String())),
    rule: Type.String({ minLength: 1 }),
    ruleSyntax: Type.Optional(Type.Union([Type.Literal('v2'), Type.Literal('v3')])),
    priority: Type.Optional(Type.Integer()),
    middlewares: Type.Optional(Type.Array(Type.String())),
    service: Type.String({ minLength: 1 }),
    tls: Type.Optional(RouterTlsSchema),
  },
  { additionalProperties: false },
);

export const ServersTransportSchema = Type.Object(
  {
    serverName: Type.Optional(Type.String()),
    insecureSkipVerify: Type.Optional(Type.Boolean()),
    rootCAs: Type.Optional(Type.Array(Type.String())),
    certificates: Type.Optional(Type.Array(Type.Object({ certFile: Type.String(), keyFile: Type.String() }))),
    maxIdleConnsPerHost: Type.Optional(Type.Integer()),
    disableHTTP2: Type.Optional(Type.Boolean()),
    peerCertURI: Type.Optional(Type.String()),
    forwardingTimeouts: Type.Optional(
      Type.Object(
        {
          dialTimeout: Type.Optional(Duration),
          responseHeaderTimeout: Type.Optional(Duration),
          idleConnTimeout: Type.Optional(Duration),
          readIdleTimeout: Type.Optional(Duration),
          pingTimeout: Type.Optional(Duration),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** A middleware: an object with exactly one key, the middleware type (validated by the registry). */
export const MiddlewareSchema = Type.Record(Type.String(), Type.Unknown());

export type ServerConfig = Static<typeof ServerSchema>;
export type HealthCheckConfig = Static<typeof HealthCheckSchema>;
export type LoadBalancerConfig = Static<typeof LoadBalancerSchema>;
export type WeightedConfig = Static<typeof WeightedSchema>;
export type HighestRandomWeightConfig = Static<typeof HighestRandomWeightSchema>;
export type PassiveHealthCheckConfig = Static<typeof PassiveHealthCheckSchema>;
export type MirroringConfig = Static<typeof MirroringSchema>;
export type FailoverConfig = Static<typeof FailoverSchema>;
export type ServiceConfig = Static<typeof ServiceSchema>;
export type RouterConfig = Static<typeof RouterSchema>;
export type ServersTransportConfig = Static<typeof ServersTransportSchema>;
export type MiddlewareConfig = Static<typeof MiddlewareSchema>;
