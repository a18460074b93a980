/** The built-in OAuth 2.0 client-credentials issuer (Microsoft identity platform v2.0 compatible). */
export {
  compileIdentity,
  compileIdentitySection,
  materializeIdentity,
  emptyIdentityConfig,
  emptyIdentitySection,
  derivedGuid,
  type IdentityConfig,
  type IdentitySection,
  type TenantEntry,
  type AppEntry,
  type SecretEntry,
} from './compile.js';
export { identityKind } from './kind.js';
export { callerNames, type CallerName } from './callers.js';
export { IdentityProvider, type IdentityProviderOptions } from './provider.js';
export { TenantSpecSchema, ApplicationSpecSchema, type TenantSpec, type ApplicationSpec } from './schema.js';
export { hashSecret, verifySecretHash, isSecretHash } from './secret-hash.js';
export type { TokenResponse } from './token-endpoint.js';
export type { AadErrorBody } from './aad-errors.js';
