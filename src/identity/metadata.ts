/** OpenID discovery documents and JWKS in Microsoft identity platform's shapes (v2.0 and v1). */
import type { TenantEntry } from './compile.js';
import type { SigningKey } from './signing-keys.js';

export function discoveryV2(base: string, t: TenantEntry): Record<string, unknown> {
  const root = `${base}/${t.tenantId}`;
  return {
    token_endpoint: `${root}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${root}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${root}/v2.0`,
    request_uri_parameter_supported: false,
    authorization_endpoint: `${root}/oauth2/v2.0/authorize`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'azp', 'azpacr', 'oid', 'tid', 'roles', 'uti', 'ver'],
    grant_types_supported: ['client_credentials'],
    tenant_region_scope: null,
    cloud_instance_name: 'gatehouse',
  };
}

export function discoveryV1(base: string, t: TenantEntry): Record<string, unknown> {
  const root = `${base}/${t.tenantId}`;
  return {
    token_endpoint: `${root}/oauth2/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${root}/discovery/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'token id_token', 'token'],
    scopes_supported: ['openid'],
    issuer: `${root}/`,
    authorization_endpoint: `${root}/oauth2/authorize`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'appid', 'appidacr', 'oid', 'tid', 'roles', 'uti', 'ver'],
    grant_types_supported: ['client_credentials'],
    tenant_region_scope: null,
    cloud_instance_name: 'gatehouse',
  };
}

export function jwks(keys: readonly SigningKey[], issuer: string | undefined): { keys: Record<string, unknown>[] } {
  return {
    keys: keys.map((k) => ({
      kty: 'RSA',
      use: 'sig',
      alg: 'RS256',
      kid: k.kid,
      n: k.jwk.n,
      e: k.jwk.e,
      ...(issuer !== undefined ? { issuer } : {}),
    })),
  };
}
