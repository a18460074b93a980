/**
 * OpenID discovery documents and JWKS in Microsoft identity platform's shapes
 * (v2.0 and v1), advertising only what the issuer implements: the token
 * endpoint with the client-credentials grant and its three client
 * authentication methods, and the keys. There is no authorization endpoint,
 * so no response types, response modes, OpenID scopes or logout are
 * advertised (`response_types_supported` is required by RFC 8414 and OpenID
 * Discovery, hence present and empty).
 */
import type { TenantEntry } from './compile.js';
import type { SigningKey } from './signing-keys.js';

const AUTH_METHODS: readonly string[] = Object.freeze(['client_secret_post', 'client_secret_basic', 'private_key_jwt']);
const NO_RESPONSE_TYPES: readonly string[] = Object.freeze([]);

export function discoveryV2(base: string, t: TenantEntry): Record<string, unknown> {
  const root = `${base}/${t.tenantId}`;
  return {
    token_endpoint: `${root}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: AUTH_METHODS,
    token_endpoint_auth_signing_alg_values_supported: ['RS256'],
    jwks_uri: `${root}/discovery/v2.0/keys`,
    response_types_supported: NO_RESPONSE_TYPES,
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    issuer: `${root}/v2.0`,
    request_uri_parameter_supported: false,
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
    token_endpoint_auth_methods_supported: AUTH_METHODS,
    token_endpoint_auth_signing_alg_values_supported: ['RS256'],
    jwks_uri: `${root}/discovery/keys`,
    response_types_supported: NO_RESPONSE_TYPES,
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    issuer: `${root}/`,
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
