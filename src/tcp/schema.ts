/**
 * Traefik's `tcp` section of the dynamic configuration (file format, and the
 * IngressRouteTCP / MiddlewareTCP CRDs once converted): routers, services,
 * middlewares. TypeBox schemas, as the rest of the model (src/config/schema.ts).
 */
import { Type, type Static } from '@sinclair/typebox';

const DomainSchema = Type.Object(
  { main: Type.Optional(Type.String()), sans: Type.Optional(Type.Array(Type.String())) },
  { additionalProperties: false },
);

export const TcpRouterTlsSchema = Type.Object(
  {
    passthrough: Type.Optional(Type.Boolean({ description: 'forward the TLS bytes untouched (the backend terminates TLS)' })),
    options: Type.Optional(Type.String({ description: 'TLS options name (termination only)' })),
    certResolver: Type.Optional(Type.String()),
    domains: Type.Optional(Type.Array(DomainSchema)),
  },
  { additionalProperties: false },
);

export const TcpRouterSchema = Type.Object(
  {
    entryPoints: Type.Optional(Type.Array(Type.String())),
    rule: Type.String({ minLength: 1, description: 'HostSNI, HostSNIRegexp, ClientIP, ALPN with &&, ||, !' }),
    ruleSyntax: Type.Optional(Type.Union([Type.Literal('v2'), Type.Literal('v3')])),
    priority: Type.Optional(Type.Integer()),
    middlewares: Type.Optional(Type.Array(Type.String())),
    service: Type.String({ minLength: 1 }),
    tls: Type.Optional(TcpRouterTlsSchema),
  },
  { additionalProperties: false },
);
export type TcpRouterConfig = Static<typeof TcpRouterSchema>;

export const TcpServerSchema = Type.Object(
  {
    address: Type.String({ minLength: 1, description: 'host:port of the backend' }),
    tls: Type.Optional(Type.Boolean({ description: 'connect to the backend over TLS (not supported yet)' })),
  },
  { additionalProperties: false },
);

export const TcpLoadBalancerSchema = Type.Object(
  {
    servers: Type.Optional(Type.Array(TcpServerSchema)),
    proxyProtocol: Type.Optional(
      Type.Object({ version: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2)])) }, { additionalProperties: false }),
    ),
    serversTransport: Type.Optional(Type.String()),
    /** Traefik v2: ms to wait for the other side after one side closed; -1 = forever. Accepted, used as the half-close delay. */
    terminationDelay: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);

export const TcpWeightedSchema = Type.Object(
  {
    services: Type.Array(
      Type.Object(
        { name: Type.String({ minLength: 1 }), weight: Type.Optional(Type.Integer({ minimum: 0 })) },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
  },
  { additionalProperties: false },
);

export const TcpServiceSchema = Type.Object(
  { loadBalancer: Type.Optional(TcpLoadBalancerSchema), weighted: Type.Optional(TcpWeightedSchema) },
  { additionalProperties: false },
);
export type TcpServiceConfig = Static<typeof TcpServiceSchema>;

export const TcpMiddlewareSchema = Type.Object(
  {
    inFlightConn: Type.Optional(
      Type.Object(
        { amount: Type.Integer({ minimum: 1, description: 'simultaneous connections per client IP' }) },
        { additionalProperties: false },
      ),
    ),
    ipAllowList: Type.Optional(
      Type.Object(
        {
          sourceRange: Type.Array(Type.String(), { minItems: 1 }),
          /** Traefik v3.1+: the client IP as it arrived (PROXY protocol applied); only `depth: 0` is meaningful for TCP. */
          ipStrategy: Type.Optional(Type.Object({ depth: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: true })),
        },
        { additionalProperties: false },
      ),
    ),
    /** Traefik v2's name for ipAllowList. */
    ipWhiteList: Type.Optional(Type.Object({ sourceRange: Type.Array(Type.String(), { minItems: 1 }) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);
export type TcpMiddlewareConfig = Static<typeof TcpMiddlewareSchema>;
