/**
 * The ACME engine's public types: what the composition root passes in
 * (options, tuning) and what it reads back (certificates, status, order events).
 */
import type { Logger } from '../../log.js';
import type { ChallengeStore } from './challenges.js';
import type { AcmeResolverConfig } from './config.js';
import type { Dns01Solver } from './dns01.js';
import type { AcmeDomains, AcmeStorage } from './storage.js';

export type AcmeCertificateState = 'Pending' | 'Issuing' | 'Ready' | 'Failed';
export type AcmeOrderResult = 'success' | 'failure' | 'rate_limited';

/** A certificate to serve. `keyPem` is for the TLS store only: never log or show it. */
export interface AcmeCertificate {
  readonly resolver: string;
  readonly domains: AcmeDomains;
  readonly certPem: string;
  readonly keyPem: string;
  /** ISO 8601. */
  readonly notAfter: string;
}

/** What may be shown (API, dashboard, logs): no key material. */
export interface AcmeCertificateStatus {
  readonly resolver: string;
  readonly domains: AcmeDomains;
  readonly state: AcmeCertificateState;
  /** A router asks for it (certificates loaded from storage but no longer asked for are served, not renewed). */
  readonly wanted: boolean;
  /** A certificate is being served (possibly while the state is Failed: the renewal failed, the old one serves). */
  readonly serving: boolean;
  /** The CA's problem detail, or what else went wrong. */
  readonly error?: string;
  readonly notBefore?: string;
  readonly notAfter?: string;
  readonly serial?: string;
  readonly fingerprint?: string;
  readonly nextRenewal?: string;
  /** When the next order is tried after failures (back-off, `Retry-After`). */
  readonly nextAttempt?: string;
  readonly lastAttempt?: string;
  readonly failures: number;
  /** Renewal time chosen inside the CA's ARI window (RFC 9773). */
  readonly renewalInfo: boolean;
}

export interface AcmeOrderEvent {
  readonly resolver: string;
  readonly domains: AcmeDomains;
  readonly result: AcmeOrderResult;
}

export interface AcmeTuning {
  /** Each request to the CA (default 30 s). */
  readonly requestTimeoutMs: number;
  /** One whole order (default 10 min); also the order lock's lifetime while not renewed. */
  readonly orderTimeoutMs: number;
  /** Every certificate is looked at again at least this often (default 24 h). */
  readonly checkIntervalMs: number;
  /** Back-off: base × 2^(n−1) (default 1 h), at most cap (default 32 h). */
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
  /** A replica that finds the order lock taken looks again after this long (default 10 s). */
  readonly lockRetryMs: number;
  /** The order lock's time to live, renewed while the order runs (default 60 s). */
  readonly lockTtlMs: number;
  /** Polling of challenge and order status (acme-client's back-off): attempts, min and max delay. */
  readonly pollAttempts: number;
  readonly pollMinMs: number;
  readonly pollMaxMs: number;
  /** dns-01: how long to wait for the TXT record to be visible (default 120 s) and between checks (2 s). */
  readonly propagationTimeoutMs: number;
  readonly propagationIntervalMs: number;
}

export const DEFAULT_TUNING: AcmeTuning = {
  requestTimeoutMs: 30_000,
  orderTimeoutMs: 10 * 60_000,
  checkIntervalMs: 24 * 3_600_000,
  backoffBaseMs: 3_600_000,
  backoffCapMs: 32 * 3_600_000,
  lockRetryMs: 10_000,
  lockTtlMs: 60_000,
  pollAttempts: 30,
  pollMinMs: 1000,
  pollMaxMs: 10_000,
  propagationTimeoutMs: 120_000,
  propagationIntervalMs: 2000,
};

export interface AcmeEngineOptions {
  readonly resolvers: readonly AcmeResolverConfig[];
  /** Where http-01 and tls-alpn-01 answers go for the serving side. */
  readonly challenges: ChallengeStore;
  /** dns-01 solvers by resolver name (resolvers with `dnschallenge`). */
  readonly dns01?: Readonly<Record<string, Dns01Solver>>;
  /** Shared storage (RedisAcmeStorage) for every resolver; default: each resolver's acme.json. Closed by `close()`. */
  readonly storage?: AcmeStorage;
  readonly log?: Logger;
  /** The clock (ms); tests move it. */
  readonly now?: () => number;
  readonly random?: () => number;
  readonly tuning?: Partial<AcmeTuning>;
}
