/**
 * The Key Vault secrets the configuration uses, fetched and kept in the
 * primary (the process that owns the providers). It is a provider without
 * fragments: the compile step tells it which vault objects the configuration
 * wants (`want`) and reads their values (`lookup`); whenever a value, its
 * version or its error changes it emits a message, so the configuration
 * watcher compiles again and the new value reaches every serving process
 * without a restart. Refreshed every `--secrets.refreshinterval`. A vault
 * that is down keeps the last value and the error is reported. Values stay
 * in this process's memory and in the compiled snapshot (which travels to
 * the workers over IPC); status and logs show a keyed fingerprint, never a
 * value.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';
import type { Provider, ProviderCondition, ProviderMessage, ProviderReconciliation, ProviderStatus } from '../providers/types.js';
import type { ExternalSecretSource, VaultLookup, VaultRef, VaultWant } from '../providers/formats/kubernetes/external-secrets.js';
import { KeyVaultClient, KeyVaultError, type KeyVaultOptions } from './keyvault-client.js';

export const SECRETS_PROVIDER = 'azurekeyvault';

/** One vault object as the API shows it: where it comes from and when, never its value. */
export interface SecretStatus {
  readonly source: 'azurekeyvault';
  readonly vault: string;
  readonly object: string;
  /** The version asked for ('' = the latest). */
  readonly requestedVersion: string;
  /** The version in force ('' before the first fetch). */
  readonly version: string;
  /** `hmac-sha256:<16 hex>`, keyed per process: changes when the value changes, cannot be used to guess it. */
  readonly fingerprint: string;
  /** Last successful fetch (ISO 8601, '' before the first). */
  readonly lastRefresh: string;
  /** Last attempt (ISO 8601). */
  readonly lastAttempt: string;
  readonly state: 'ok' | 'stale' | 'pending' | 'failed';
  readonly error?: string;
  /** The AzureKeyVaultSecret objects (and their output Secrets) that read it. */
  readonly usedBy: readonly string[];
}

interface Entry {
  readonly ref: VaultRef;
  usedBy: string[];
  value?: string;
  version?: string;
  contentType?: string;
  fingerprint?: string;
  fetchedAt?: string;
  lastAttempt?: string;
  error?: string;
  inFlight?: Promise<void>;
}

export interface SecretStoreOptions extends KeyVaultOptions {
  readonly refreshIntervalMs: number;
  readonly log: Logger;
}

const describeRef = (r: VaultRef): string => `secret ${r.name}${r.version !== '' ? ` version ${r.version}` : ''} of vault ${r.vault}`;
const kept = (e: { value?: string; version?: string }): string =>
  e.value !== undefined ? ` (the last value, version ${e.version ?? ''}, keeps serving)` : '';

const keyOf = (r: VaultRef): string => `${r.vault.toLowerCase()}/${r.name.toLowerCase()}/${r.version.toLowerCase()}`;

export class SecretStore implements Provider, ExternalSecretSource {
  readonly name = SECRETS_PROVIDER;
  readonly #client: KeyVaultClient;
  readonly #o: SecretStoreOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #hmacKey = randomBytes(32);
  #emit: ((m: ProviderMessage) => void) | null = null;
  #timer: NodeJS.Timeout | null = null;
  #revision = 0;
  #lastUpdate = '';
  #closed = false;
  /** Flux-style status: the Ready condition, when the last refresh round ended, the last rounds that changed something. */
  #ready: ProviderCondition | null = null;
  #lastHandledAt = '';
  #history: ProviderReconciliation[] = [];

  constructor(o: SecretStoreOptions) {
    this.#o = o;
    this.#client = new KeyVaultClient(o);
  }

  async start(emit: (m: ProviderMessage) => void): Promise<void> {
    this.#emit = emit;
    this.#send();
    if (this.#o.refreshIntervalMs > 0) {
      this.#timer = setInterval(() => void this.refresh(), this.#o.refreshIntervalMs);
      this.#timer.unref();
    }
  }

  /** The vault objects the configuration in force uses; new ones are fetched at once, others forgotten. */
  want(wants: readonly VaultWant[]): void {
    if (this.#closed) return;
    const next = new Map<string, string[]>();
    const refs = new Map<string, VaultRef>();
    for (const w of wants) {
      const k = keyOf(w.ref);
      refs.set(k, w.ref);
      next.set(k, [...(next.get(k) ?? []), w.usedBy]);
    }
    for (const k of [...this.#entries.keys()]) if (!next.has(k)) this.#entries.delete(k);
    const fresh: Entry[] = [];
    for (const [k, usedBy] of next) {
      const e = this.#entries.get(k);
      if (e !== undefined) e.usedBy = [...new Set(usedBy)].sort();
      else {
        const n: Entry = { ref: refs.get(k) as VaultRef, usedBy: [...new Set(usedBy)].sort() };
        this.#entries.set(k, n);
        fresh.push(n);
      }
    }
    if (fresh.length > 0) void this.#fetchAll(fresh);
  }

  lookup(ref: VaultRef): VaultLookup {
    const e = this.#entries.get(keyOf(ref));
    if (e === undefined || (e.value === undefined && e.error === undefined)) return { state: 'pending' };
    if (e.value === undefined) return { state: 'failed', error: e.error as string };
    return {
      state: 'ok',
      value: e.value,
      version: e.version ?? '',
      fetchedAt: e.fetchedAt ?? '',
      ...(e.error !== undefined ? { error: e.error } : {}),
      ...(e.contentType !== undefined ? { contentType: e.contentType } : {}),
    };
  }

  /** Fetch every wanted object again (the refresh timer; tests). Resolves when done. */
  async refresh(): Promise<void> {
    await this.#fetchAll([...this.#entries.values()]);
  }

  statuses(): SecretStatus[] {
    return [...this.#entries.values()].map((e) => ({
      source: 'azurekeyvault' as const,
      vault: e.ref.vault,
      object: e.ref.name,
      requestedVersion: e.ref.version,
      version: e.version ?? '',
      fingerprint: e.fingerprint ?? '',
      lastRefresh: e.fetchedAt ?? '',
      lastAttempt: e.lastAttempt ?? '',
      state: e.value === undefined ? (e.error === undefined ? 'pending' : 'failed') : e.error === undefined ? 'ok' : 'stale',
      ...(e.error !== undefined ? { error: e.error } : {}),
      usedBy: e.usedBy,
    }));
  }

  status(): ProviderStatus {
    const failing = [...this.#entries.values()].filter((e) => e.error !== undefined);
    const ready = this.#readyCondition();
    return {
      name: this.name,
      type: 'azurekeyvault',
      url: this.#o.vaultUrlTemplate,
      state: this.#closed ? 'stopped' : failing.length > 0 ? 'degraded' : this.#emit === null ? 'starting' : 'ready',
      revision: String(this.#revision),
      lastUpdate: this.#lastUpdate,
      message: ready.status === 'True' ? '' : ready.message,
      conditions: [ready],
      ...(this.#lastHandledAt !== '' ? { lastHandledAt: this.#lastHandledAt } : {}),
      history: this.#history,
    };
  }

  /**
   * Ready True: every wanted secret was read by its last attempt. False
   * (FetchFailed): one or more could not be read, each named with its error
   * and whether a last value keeps serving. Unknown (Progressing): some were
   * never fetched yet. The transition time changes only when status or
   * reason does.
   */
  #readyCondition(): ProviderCondition {
    const entries = [...this.#entries.values()];
    const failing = entries.filter((e) => e.error !== undefined);
    const pending = entries.filter((e) => e.error === undefined && e.value === undefined);
    let next: Omit<ProviderCondition, 'lastTransitionTime'>;
    if (failing.length > 0)
      next = {
        type: 'Ready',
        status: 'False',
        reason: 'FetchFailed',
        message: failing.map((e) => `${describeRef(e.ref)} (${e.usedBy.join(', ')}): ${e.error}${kept(e)}`).join('; '),
      };
    else if (pending.length > 0)
      next = {
        type: 'Ready',
        status: 'Unknown',
        reason: 'Progressing',
        message: `fetching ${pending.map((e) => describeRef(e.ref)).join(', ')}`,
      };
    else
      next = {
        type: 'Ready',
        status: 'True',
        reason: 'ReconciliationSucceeded',
        message:
          entries.length === 0
            ? 'no AzureKeyVaultSecret in use'
            : `${entries.length} secret(s) read from Key Vault: ${entries.map((e) => `${describeRef(e.ref)} version ${e.version ?? ''}`).join(', ')}`,
      };
    const prev = this.#ready;
    const changed = prev === null || prev.status !== next.status || prev.reason !== next.reason;
    this.#ready = { ...next, lastTransitionTime: changed ? new Date().toISOString() : (prev as ProviderCondition).lastTransitionTime };
    return this.#ready;
  }

  /** One refresh round in the history when its outcome differs from the previous round's (newest first, at most 5). */
  #record(result: ProviderReconciliation['result'], reason: string, message: string): void {
    const last = this.#history[0];
    if (last !== undefined && last.result === result && last.reason === reason && last.message === message) return;
    this.#history = [{ revision: String(this.#revision), at: this.#lastHandledAt, result, reason, message }, ...this.#history].slice(0, 5);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#emit = null;
    await Promise.allSettled([...this.#entries.values()].map((e) => e.inFlight));
  }

  async #fetchAll(entries: Entry[]): Promise<void> {
    const before = entries.map((e) => `${e.version}|${e.fingerprint}|${e.error}`);
    await Promise.all(entries.map((e) => (e.inFlight ??= this.#fetch(e).finally(() => (e.inFlight = undefined)))));
    if (this.#closed) return;
    const changed = entries.filter((e, i) => `${e.version}|${e.fingerprint}|${e.error}` !== before[i]);
    if (changed.length > 0) this.#send();
    this.#lastHandledAt = new Date().toISOString();
    this.#readyCondition();
    const failing = [...this.#entries.values()].filter((e) => e.error !== undefined);
    if (failing.length > 0)
      this.#record('failed', 'FetchFailed', failing.map((e) => `${describeRef(e.ref)}: ${e.error}${kept(e)}`).join('; '));
    else if (changed.length > 0)
      this.#record(
        'applied',
        'ReconciliationSucceeded',
        `read ${changed.map((e) => `${describeRef(e.ref)} version ${e.version ?? ''}`).join(', ')}`,
      );
  }

  /** Resolves when every fetch under way has ended (`gatehouse check`). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#entries.values()].map((e) => e.inFlight));
  }

  async #fetch(e: Entry): Promise<void> {
    const { vault, name, version } = e.ref;
    e.lastAttempt = new Date().toISOString();
    try {
      const got = await this.#client.getSecret(vault, name, version);
      if (this.#closed) return;
      const fp = `hmac-sha256:${createHmac('sha256', this.#hmacKey).update(got.value).digest('hex').slice(0, 16)}`;
      if (e.error !== undefined)
        this.#o.log.info({ provider: this.name, vault, secret: name }, `Key Vault secret ${name} of vault ${vault} readable again`);
      if (e.fingerprint !== undefined && e.fingerprint !== fp)
        this.#o.log.info(
          { provider: this.name, vault, secret: name, version: got.version, fingerprint: fp },
          `Key Vault secret ${name} of vault ${vault} changed`,
        );
      e.value = got.value;
      e.version = got.version;
      e.contentType = got.contentType;
      e.fingerprint = fp;
      e.fetchedAt = new Date().toISOString();
      e.error = undefined;
    } catch (err) {
      if (this.#closed) return;
      const message = err instanceof KeyVaultError ? err.message : `unexpected failure: ${(err as Error).message}`;
      if (e.error !== message) {
        const kept = e.value !== undefined ? `; the last value (version ${e.version}, fetched ${e.fetchedAt}) keeps serving` : '';
        this.#o.log.warn({ provider: this.name, vault, secret: name }, `Key Vault: ${message}${kept}`);
      }
      e.error = message;
    }
  }

  #send(): void {
    if (this.#emit === null || this.#closed) return;
    this.#lastUpdate = new Date().toISOString();
    this.#emit({ provider: this.name, revision: String(++this.#revision), fragments: [], issues: [], refused: [] });
  }
}
