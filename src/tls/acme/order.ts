/**
 * One ACME order (RFC 8555 section 7.4) through acme-client's calls: create
 * the order, answer each authorization with the first configured challenge
 * the CA offers (http-01, then tls-alpn-01, then dns-01; a wildcard only
 * dns-01), finalize with a CSR for a new key, download the chain (the
 * preferred one when asked). Challenge answers are removed whatever happens.
 */
import * as acme from 'acme-client';
import type { Logger } from '../../log.js';
import { createKeyPem } from './account.js';
import type { ChallengeStore } from './challenges.js';
import type { AcmeResolverConfig } from './config.js';
import { dns01Name, waitForTxt, type Dns01Solver } from './dns01.js';
import type { AcmeDomains, StoredCertificate } from './storage.js';

const ALL_CHALLENGES = ['http-01', 'tls-alpn-01', 'dns-01'] as const;
export type ChallengeType = (typeof ALL_CHALLENGES)[number];

export interface OrderInput {
  readonly client: acme.Client;
  readonly config: AcmeResolverConfig;
  readonly domains: AcmeDomains;
  readonly challenges: ChallengeStore;
  readonly dns01: Dns01Solver | undefined;
  /** RFC 9773 `replaces`: the ARI identifier of the certificate this one renews. */
  readonly replaces?: string;
  readonly propagation: { readonly timeoutMs: number; readonly intervalMs: number };
  readonly signal: AbortSignal;
  readonly log: Logger;
}

/** The challenge types a resolver may use for a name, in the order tried. */
export function challengeTypes(c: AcmeResolverConfig, wildcard: boolean): ChallengeType[] {
  if (wildcard) return c.dnsChallenge !== undefined ? ['dns-01'] : [];
  return ALL_CHALLENGES.filter((t) =>
    t === 'http-01' ? c.httpChallenge !== undefined : t === 'tls-alpn-01' ? c.tlsChallenge === true : c.dnsChallenge !== undefined,
  );
}

function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new Error('the ACME engine is closing');
}

export async function orderCertificate(o: OrderInput): Promise<StoredCertificate> {
  const { client, domains } = o;
  const names = [domains.main, ...domains.sans];
  const order = await client.createOrder({
    identifiers: names.map((value) => ({ type: 'dns', value })),
    ...(o.replaces !== undefined ? ({ replaces: o.replaces } as Record<string, string>) : {}),
  });
  const authorizations = await client.getAuthorizations(order);
  for (const authz of authorizations) {
    checkAborted(o.signal);
    if (authz.status === 'valid') continue;
    await solve(o, authz);
  }
  checkAborted(o.signal);
  const keyPem = await createKeyPem(o.config.keyType);
  const [, csr] = await acme.crypto.createCsr(
    { ...(domains.main.length <= 64 ? { commonName: domains.main } : {}), altNames: names },
    keyPem,
  );
  const finalized = await client.finalizeOrder(order, csr);
  const certPem = await client.getCertificate(finalized, o.config.preferredChain === '' ? undefined : o.config.preferredChain);
  return { domains, certPem, keyPem, store: 'default' };
}

async function solve(o: OrderInput, authz: acme.Authorization): Promise<void> {
  const { client, config } = o;
  const domain = authz.identifier.value.toLowerCase();
  const wildcard = authz.wildcard === true;
  const wanted = challengeTypes(config, wildcard);
  const type = wanted.find((t) => authz.challenges.some((c) => c.type === t));
  const challenge = authz.challenges.find((c) => c.type === type);
  if (type === undefined || challenge === undefined)
    throw new Error(
      `the CA offers ${authz.challenges.map((c) => c.type).join(', ') || 'no challenge'} for ${wildcard ? '*.' : ''}${domain}; resolver ${config.name} is configured for ${wanted.join(', ') || 'none that applies'}`,
    );
  const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
  const store = o.challenges;
  let cleanup: () => Promise<void>;
  if (type === 'http-01') {
    const token = (challenge as { token: string }).token;
    store.setHttp01(token, keyAuthorization);
    cleanup = async () => store.removeHttp01(token);
  } else if (type === 'tls-alpn-01') {
    const [key, cert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization);
    store.setTlsAlpn(domain, { certPem: cert.toString(), keyPem: key.toString() });
    cleanup = async () => store.removeTlsAlpn(domain);
  } else {
    const solver = o.dns01;
    if (solver === undefined) throw new Error(`resolver ${config.name} has no dns-01 solver`);
    const fqdn = dns01Name(domain);
    await solver.present(fqdn, keyAuthorization);
    cleanup = () => solver.cleanup(fqdn, keyAuthorization);
  }
  try {
    if (type === 'dns-01') {
      const d = config.dnsChallenge;
      await waitForTxt(dns01Name(domain), keyAuthorization, {
        resolvers: d?.resolvers ?? [],
        delayBeforeCheck: d?.delayBeforeCheck ?? 0,
        timeoutMs: o.propagation.timeoutMs,
        intervalMs: o.propagation.intervalMs,
        signal: o.signal,
      });
    }
    checkAborted(o.signal);
    await client.completeChallenge(challenge);
    // The challenge, not the authorization: an invalid challenge carries the CA's problem detail.
    await client.waitForValidStatus(challenge);
  } finally {
    await cleanup().catch((err: unknown) =>
      o.log.warn({ resolver: config.name, domain, challenge: type, err: (err as Error).message }, 'ACME challenge cleanup failed'),
    );
  }
}
