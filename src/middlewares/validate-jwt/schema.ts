/** Options of the validateJwt middleware (APIM validate-jwt semantics), the single source of types and validation. */
import { Type, type Static } from '@sinclair/typebox';
import { Duration } from '../../config/schema.js';

const StringList = Type.Array(Type.String({ minLength: 1 }), { maxItems: 100 });

export const IssuerSigningKeySchema = Type.Object(
  {
    jwk: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'A public JWK (RSA, EC, OKP) or an oct key' })),
    pem: Type.Optional(Type.String({ description: 'PEM public key or X.509 certificate' })),
    n: Type.Optional(Type.String({ description: 'RSA modulus (base64url)' })),
    e: Type.Optional(Type.String({ description: 'RSA exponent (base64url), default AQAB' })),
    secret: Type.Optional(Type.String({ description: 'Symmetric key, base64 (HS256/384/512 only)' })),
    kid: Type.Optional(Type.String()),
    alg: Type.Optional(Type.String({ description: 'Restrict the key to this algorithm' })),
  },
  { additionalProperties: false },
);

export const RequiredClaimSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    match: Type.Optional(Type.Union([Type.Literal('all'), Type.Literal('any')], { description: 'all (default) | any' })),
    separator: Type.Optional(Type.String({ minLength: 1, description: 'Splits a string claim into values' })),
    values: Type.Optional(StringList),
  },
  { additionalProperties: false },
);

export const ValidateJwtSchema = Type.Object(
  {
    headerName: Type.Optional(Type.String({ minLength: 1, description: 'Header holding the token (default Authorization)' })),
    requireScheme: Type.Optional(Type.String({ description: 'Scheme before the token in the header (default Bearer; "" for none)' })),
    queryParameterName: Type.Optional(Type.String({ minLength: 1 })),
    cookieName: Type.Optional(Type.String({ minLength: 1 })),
    failedValidationHttpCode: Type.Optional(Type.Integer({ minimum: 400, maximum: 599, description: 'default 401' })),
    failedValidationErrorMessage: Type.Optional(Type.String()),
    requireExpirationTime: Type.Optional(Type.Boolean({ description: 'default true' })),
    requireSignedTokens: Type.Optional(Type.Boolean({ description: 'default true' })),
    clockSkew: Type.Optional(Duration),
    openidConfig: Type.Optional(
      Type.Array(Type.Object({ url: Type.String({ minLength: 1 }) }, { additionalProperties: false }), { maxItems: 10 }),
    ),
    issuerSigningKeys: Type.Optional(Type.Array(IssuerSigningKeySchema, { maxItems: 100 })),
    algorithms: Type.Optional(StringList),
    audiences: Type.Optional(StringList),
    issuers: Type.Optional(StringList),
    requiredClaims: Type.Optional(Type.Array(RequiredClaimSchema, { maxItems: 50 })),
    claimsToHeaders: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }))),
    forwardToken: Type.Optional(Type.Boolean({ description: 'default true; false removes the token before the backend' })),
    maxTokenSize: Type.Optional(Type.Integer({ minimum: 256, maximum: 65536, description: 'bytes, default 8192' })),
    keysCacheDuration: Type.Optional(Duration),
    unknownKidCooldown: Type.Optional(Duration),
    keyFetchTimeout: Type.Optional(Duration),
    tokenCacheSize: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'verified tokens kept, default 10000; 0 disables' }),
    ),
  },
  { additionalProperties: false },
);

export type ValidateJwtOptions = Static<typeof ValidateJwtSchema>;
export type RequiredClaim = Static<typeof RequiredClaimSchema>;
