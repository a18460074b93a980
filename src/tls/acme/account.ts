/**
 * The ACME account of a resolver: read from storage, or created (once, under
 * a lock, so two replicas do not register two accounts) and saved. Every
 * process start re-registers the stored key with `newAccount`, which returns
 * the existing account (RFC 8555 section 7.3.1), or makes a new one when the
 * CA forgot it (a test CA restarted, an account deactivated).
 */
import { createPrivateKey } from 'node:crypto';
import * as acme from 'acme-client';
import type { AcmeKeyType, AcmeResolverConfig } from './config.js';
import type { AcmeStorage, StoredAccount } from './storage.js';

export async function createKeyPem(keyType: AcmeKeyType): Promise<string> {
  const pem =
    keyType === 'EC256'
      ? await acme.crypto.createPrivateEcdsaKey('P-256')
      : keyType === 'EC384'
        ? await acme.crypto.createPrivateEcdsaKey('P-384')
        : await acme.crypto.createPrivateRsaKey(keyType === 'RSA2048' ? 2048 : 4096);
  return String(createPrivateKey(pem).export({ format: 'pem', type: 'pkcs8' }));
}

export interface AccountOptions {
  readonly config: AcmeResolverConfig;
  readonly storage: AcmeStorage;
  /** How long to wait for another replica that is creating the account. */
  readonly lockWaitMs: number;
  readonly backoff: { attempts: number; min: number; max: number };
}

export interface ReadyAccount {
  readonly client: acme.Client;
  readonly account: StoredAccount;
}

function clientFor(o: AccountOptions, keyPem: string, accountUrl?: string): acme.Client {
  const { config } = o;
  return new acme.Client({
    directoryUrl: config.caServer,
    accountKey: keyPem,
    ...(accountUrl !== undefined ? { accountUrl } : {}),
    ...(config.eab !== undefined ? { externalAccountBinding: { kid: config.eab.kid, hmacKey: config.eab.hmacEncoded } } : {}),
    backoffAttempts: o.backoff.attempts,
    backoffMin: o.backoff.min,
    backoffMax: o.backoff.max,
  });
}

async function register(o: AccountOptions, account: StoredAccount): Promise<ReadyAccount> {
  const client = clientFor(o, account.privateKeyPem);
  const body = await client.createAccount({
    termsOfServiceAgreed: true,
    ...(o.config.email !== '' ? { contact: [`mailto:${o.config.email}`] } : {}),
  });
  const uri = client.getAccountUrl();
  const registered: StoredAccount = {
    ...account,
    email: o.config.email,
    registration: { body: body as unknown as Record<string, unknown>, uri },
  };
  if (uri !== account.registration.uri || account.email !== o.config.email) await o.storage.saveAccount(o.config.name, registered);
  return { client, account: registered };
}

/** The resolver's account, registered with the CA; creates and stores one when there is none. */
export async function readyAccount(o: AccountOptions): Promise<ReadyAccount> {
  const resolver = o.config.name;
  const deadline = Date.now() + o.lockWaitMs;
  for (;;) {
    const stored = (await o.storage.load(resolver)).account;
    if (stored !== undefined) return register(o, stored);
    const lock = await o.storage.lock(`${resolver}:account`, 60_000);
    if (lock !== undefined) {
      try {
        const again = (await o.storage.load(resolver)).account;
        if (again !== undefined) return await register(o, again);
        const fresh: StoredAccount = {
          email: o.config.email,
          registration: { body: {}, uri: '' },
          privateKeyPem: await createKeyPem(o.config.keyType),
          keyType: o.config.keyType,
        };
        return await register(o, fresh);
      } finally {
        await lock.release();
      }
    }
    if (Date.now() > deadline)
      throw new Error(`another replica is creating the ACME account of resolver ${resolver}; not ready after ${o.lockWaitMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
