import { Type, type Static } from '@sinclair/typebox';

const StrList = Type.Array(Type.String());
const StrMap = Type.Record(Type.String(), Type.String());

/** Traefik's `headers` middleware options (v2 and v3 names). */
export const HeadersSchema = Type.Object(
  {
    customRequestHeaders: Type.Optional(
      Type.Record(Type.String(), Type.String(), { description: 'Headers set on the request; an empty value removes the header' }),
    ),
    customResponseHeaders: Type.Optional(
      Type.Record(Type.String(), Type.String(), { description: 'Headers set on the response; an empty value removes the header' }),
    ),
    // CORS
    accessControlAllowCredentials: Type.Optional(Type.Boolean()),
    accessControlAllowHeaders: Type.Optional(StrList),
    accessControlAllowMethods: Type.Optional(StrList),
    accessControlAllowOriginList: Type.Optional(StrList),
    accessControlAllowOriginListRegex: Type.Optional(StrList),
    accessControlExposeHeaders: Type.Optional(StrList),
    accessControlMaxAge: Type.Optional(Type.Integer()),
    addVaryHeader: Type.Optional(Type.Boolean()),
    // Security
    allowedHosts: Type.Optional(StrList),
    hostsProxyHeaders: Type.Optional(StrList),
    sslRedirect: Type.Optional(Type.Boolean({ description: 'Deprecated (Traefik v2): use redirectScheme' })),
    sslTemporaryRedirect: Type.Optional(Type.Boolean({ description: 'Deprecated (Traefik v2): use redirectScheme' })),
    sslHost: Type.Optional(Type.String({ description: 'Deprecated (Traefik v2): use redirectRegex' })),
    sslForceHost: Type.Optional(Type.Boolean({ description: 'Deprecated (Traefik v2): use redirectRegex' })),
    sslProxyHeaders: Type.Optional(StrMap),
    stsSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
    stsIncludeSubdomains: Type.Optional(Type.Boolean()),
    stsPreload: Type.Optional(Type.Boolean()),
    forceSTSHeader: Type.Optional(Type.Boolean()),
    frameDeny: Type.Optional(Type.Boolean()),
    customFrameOptionsValue: Type.Optional(Type.String()),
    contentTypeNosniff: Type.Optional(Type.Boolean()),
    browserXssFilter: Type.Optional(Type.Boolean()),
    customBrowserXSSValue: Type.Optional(Type.String()),
    contentSecurityPolicy: Type.Optional(Type.String()),
    contentSecurityPolicyReportOnly: Type.Optional(Type.String()),
    publicKey: Type.Optional(Type.String()),
    referrerPolicy: Type.Optional(Type.String()),
    featurePolicy: Type.Optional(Type.String({ description: 'Deprecated: use permissionsPolicy' })),
    permissionsPolicy: Type.Optional(Type.String()),
    isDevelopment: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export type HeadersOptions = Static<typeof HeadersSchema>;
