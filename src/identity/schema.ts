/**
 * Identity kinds (gatehouse.dev/v1alpha1 Tenant and Application): TypeBox
 * schemas, the single source of their types, validation and CRD schemas.
 */
import { Type, type Static } from '@sinclair/typebox';

const Guid = Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', description: 'GUID' });
const DateTime = Type.String({ description: 'RFC 3339 date-time, e.g. 2030-01-01T00:00:00Z' });

export const TenantSpecSchema = Type.Object(
  {
    tenantId: Guid,
    domain: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
    displayName: Type.Optional(Type.String()),
    /** Access-token lifetime, default 1h (Go duration or seconds). */
    accessTokenLifetime: Type.Optional(Type.Union([Type.String(), Type.Number()])),
  },
  { additionalProperties: false },
);

export const AppRoleSchema = Type.Object(
  {
    value: Type.String({ minLength: 1, maxLength: 120 }),
    id: Guid,
    allowedMemberTypes: Type.Optional(Type.Array(Type.Union([Type.Literal('Application'), Type.Literal('User')]))),
    isEnabled: Type.Optional(Type.Boolean()),
    displayName: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

/**
 * A client secret in a Secret of the Application's namespace: a v1 Secret or
 * one an AzureKeyVaultSecret writes (docs/secrets.md). `value` / `error` are
 * filled in by the Kubernetes conversion and the compile step, never written.
 */
export const SecretKeyRefSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    key: Type.String({ minLength: 1 }),
    value: Type.Optional(Type.String()),
    error: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const SecretFromSchema = Type.Object(
  {
    env: Type.Optional(Type.String({ minLength: 1 })),
    file: Type.Optional(Type.String({ minLength: 1 })),
    secret: Type.Optional(SecretKeyRefSchema),
  },
  { additionalProperties: false },
);

export const PasswordCredentialSchema = Type.Object(
  {
    /** Output of `gatehouse hash-secret` ($scrypt$…). */
    secretHash: Type.Optional(Type.String({ minLength: 1 })),
    secretFrom: Type.Optional(SecretFromSchema),
    keyId: Type.Optional(Guid),
    displayName: Type.Optional(Type.String()),
    endDateTime: Type.Optional(DateTime),
  },
  { additionalProperties: false },
);

export const KeyCredentialSchema = Type.Object(
  {
    /** PEM public key or X.509 certificate (private_key_jwt client assertions). */
    pem: Type.Optional(Type.String({ minLength: 1 })),
    jwk: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    /** kid (or x5t) the client puts in its assertion header. */
    kid: Type.Optional(Type.String({ minLength: 1 })),
    endDateTime: Type.Optional(DateTime),
  },
  { additionalProperties: false },
);

export const GrantSchema = Type.Object(
  { resourceAppId: Guid, roles: Type.Array(Type.String({ minLength: 1 })) },
  { additionalProperties: false },
);

export const ApplicationSpecSchema = Type.Object(
  {
    /** Tenant by metadata name, tenant id or domain. */
    tenant: Type.String({ minLength: 1 }),
    appId: Guid,
    displayName: Type.Optional(Type.String()),
    /** Object id of the service principal (oid/sub claims); derived from tenant and appId when absent. */
    objectId: Type.Optional(Guid),
    identifierUris: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    accessTokenAcceptedVersion: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2), Type.Null()])),
    appRoles: Type.Optional(Type.Array(AppRoleSchema)),
    passwordCredentials: Type.Optional(Type.Array(PasswordCredentialSchema)),
    keyCredentials: Type.Optional(Type.Array(KeyCredentialSchema)),
    grants: Type.Optional(Type.Array(GrantSchema)),
  },
  { additionalProperties: false },
);

export type TenantSpec = Static<typeof TenantSpecSchema>;
export type ApplicationSpec = Static<typeof ApplicationSpecSchema>;
