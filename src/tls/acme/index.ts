/**
 * ACME certificate resolvers (docs/tls.md, "ACME certificate resolvers"):
 * what the composition root wires in.
 */
export { AcmeEngine } from './engine.js';
export type {
  AcmeCertificate,
  AcmeCertificateState,
  AcmeCertificateStatus,
  AcmeEngineOptions,
  AcmeOrderEvent,
  AcmeOrderResult,
  AcmeTuning,
} from './engine.js';
export { ChallengeStore, ACME_TLS_ALPN, HTTP01_PREFIX } from './challenges.js';
export type { ChallengeChange, TlsAlpnCertificate } from './challenges.js';
export { validateAcmeResolver, ACME_KEY_TYPES, ACME_DNS_PROVIDERS, LETSENCRYPT_PRODUCTION } from './config.js';
export type { AcmeResolverConfig, AcmeKeyType, AcmeDnsProviderKind, AcmeValidation, AcmeValidateOptions } from './config.js';
export { dns01SolverFor, dns01Name, waitForTxt } from './dns01.js';
export type { Dns01Solver, Dns01SolverOptions } from './dns01.js';
export { FileAcmeStorage, domainsKey, normalizeDomains } from './storage.js';
export type { AcmeStorage, AcmeDomains, AcmeLock, StoredAccount, StoredCertificate } from './storage.js';
export { RedisAcmeStorage } from './redis-storage.js';
export type { RedisAcmeStorageOptions, AcmeRedisClient } from './redis-storage.js';
