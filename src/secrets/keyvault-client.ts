/**
 * Azure Key Vault over its REST API, as Microsoft documents it:
 * `GET {vaultUrl}/secrets/{name}/{version}?api-version=7.4` with a bearer
 * token from the Microsoft identity platform's client-credentials flow
 * (`POST {authorityHost}/{tenantId}/oauth2/v2.0/token`, scope
 * `https://vault.azure.net/.default`). The client secret is read from a file
 * at each token request (so it can be rotated), never from a flag. Every
 * request has a time and size limit. Error messages never hold a secret value
 * or a token.
 */
import { readFile, stat } from 'node:fs/promises';
import { boundedFetch, FetchLimitError } from './bounded-fetch.js';

export const KEY_VAULT_API_VERSION = '7.4';
export const KEY_VAULT_SCOPE = 'https://vault.azure.net/.default';
const MAX_CLIENT_SECRET_FILE = 64 * 1024;
/** Key Vault's own limit for a secret value is 25 KiB; the JSON around it is small. */
const MAX_SECRET_RESPONSE = 256 * 1024;
const MAX_TOKEN_RESPONSE = 64 * 1024;

export const VAULT_NAME = /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;
export const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;
export const SECRET_VERSION = /^[0-9a-fA-F]{32}$/;

export interface KeyVaultOptions {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecretFile: string;
  /** `https://login.microsoftonline.com` (no trailing slash needed). */
  readonly authorityHost: string;
  /** `https://{name}.vault.azure.net`: `{name}` is the vault's name. */
  readonly vaultUrlTemplate: string;
  /** Limit of each request (token or secret), default 10 s. */
  readonly timeoutMs?: number;
}

export interface VaultSecret {
  readonly value: string;
  /** The version Key Vault answered with (last segment of its `id`). */
  readonly version: string;
  readonly contentType?: string;
}

export type KeyVaultErrorCode = 'token' | 'unauthorized' | 'forbidden' | 'not-found' | 'disabled' | 'unavailable' | 'bad-response';

export class KeyVaultError extends Error {
  constructor(
    readonly code: KeyVaultErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'KeyVaultError';
  }
}

/** `https://{name}.vault.azure.net` → the URL of vault `name`. */
export function vaultUrl(template: string, vault: string): string {
  return template.replaceAll('{name}', vault).replace(/\/+$/, '');
}

function azureError(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; innererror?: { code?: unknown } } };
    const e = body.error;
    if (e !== undefined && typeof e === 'object') {
      const code = typeof e.code === 'string' ? e.code : 'Error';
      const inner = typeof e.innererror?.code === 'string' ? `/${e.innererror.code}` : '';
      const msg = typeof e.message === 'string' ? e.message.split('\n')[0]!.slice(0, 300) : '';
      return `${code}${inner}${msg !== '' ? `: ${msg}` : ''}`;
    }
  } catch {
    /* not JSON */
  }
  return 'no error body';
}

export class KeyVaultClient {
  readonly #o: KeyVaultOptions;
  readonly #timeoutMs: number;
  #token: { value: string; expiresAt: number } | null = null;

  constructor(o: KeyVaultOptions) {
    this.#o = o;
    this.#timeoutMs = o.timeoutMs ?? 10_000;
  }

  /** Read a secret (its latest version when `version` is empty). */
  async getSecret(vault: string, name: string, version = ''): Promise<VaultSecret> {
    if (!VAULT_NAME.test(vault)) throw new KeyVaultError('bad-response', `"${vault}" is not a Key Vault name`);
    if (!SECRET_NAME.test(name)) throw new KeyVaultError('bad-response', `"${name}" is not a Key Vault secret name`);
    if (version !== '' && !SECRET_VERSION.test(version)) throw new KeyVaultError('bad-response', `"${version}" is not a secret version`);
    const url = `${vaultUrl(this.#o.vaultUrlTemplate, vault)}/secrets/${name}/${version}?api-version=${KEY_VAULT_API_VERSION}`;
    const fresh = this.#token === null;
    let res = await this.#get(url, await this.#bearer());
    if (res.status === 401 && !fresh) {
      // The cached token may have been revoked or the vault's keys rolled: one retry with a new token.
      this.#token = null;
      res = await this.#get(url, await this.#bearer());
    }
    const where = `secret ${name}${version !== '' ? ` version ${version}` : ''} of vault ${vault}`;
    switch (res.status) {
      case 200:
        break;
      case 401:
        this.#token = null;
        throw new KeyVaultError('unauthorized', `Key Vault refused the token for ${where} (401 ${azureError(res.text)})`);
      case 403:
        throw new KeyVaultError(
          'forbidden',
          `no access to ${where} (403 ${azureError(res.text)}): grant the client ${this.#o.clientId} "get" on secrets (access policy or Key Vault Secrets User)`,
        );
      case 404:
        throw new KeyVaultError('not-found', `${where} not found (404 ${azureError(res.text)})`);
      default:
        throw new KeyVaultError('unavailable', `Key Vault answered ${res.status} for ${where} (${azureError(res.text)})`);
    }
    let body: { value?: unknown; id?: unknown; contentType?: unknown; attributes?: { enabled?: unknown } };
    try {
      body = JSON.parse(res.text) as typeof body;
    } catch {
      throw new KeyVaultError('bad-response', `Key Vault's answer for ${where} is not JSON`);
    }
    if (body.attributes?.enabled === false) throw new KeyVaultError('disabled', `${where} is disabled`);
    if (typeof body.value !== 'string') throw new KeyVaultError('bad-response', `Key Vault's answer for ${where} has no string "value"`);
    const id = typeof body.id === 'string' ? body.id : '';
    const got = id.replace(/\/+$/, '').split('/').pop() ?? '';
    return {
      value: body.value,
      version: SECRET_VERSION.test(got) ? got.toLowerCase() : version,
      ...(typeof body.contentType === 'string' ? { contentType: body.contentType } : {}),
    };
  }

  async #get(url: string, token: string): Promise<{ status: number; text: string }> {
    try {
      return await boundedFetch(
        url,
        { method: 'GET', headers: { authorization: `Bearer ${token}`, accept: 'application/json' } },
        { timeoutMs: this.#timeoutMs, maxBytes: MAX_SECRET_RESPONSE },
      );
    } catch (err) {
      throw new KeyVaultError('unavailable', `Key Vault ${new URL(url).origin} unreachable: ${(err as Error).message}`);
    }
  }

  async #clientSecret(): Promise<string> {
    const f = this.#o.clientSecretFile;
    try {
      const st = await stat(f);
      if (st.size > MAX_CLIENT_SECRET_FILE) throw new Error(`larger than ${MAX_CLIENT_SECRET_FILE} bytes`);
      const s = (await readFile(f, 'utf8')).replace(/\r?\n$/, '');
      if (s === '') throw new Error('empty');
      return s;
    } catch (err) {
      throw new KeyVaultError(
        'token',
        `cannot read --secrets.azurekeyvault.clientsecretfile ${f}: ${(err as Error).message.split('\n')[0]}`,
      );
    }
  }

  async #bearer(): Promise<string> {
    const now = Date.now();
    if (this.#token !== null && this.#token.expiresAt - 60_000 > now) return this.#token.value;
    const o = this.#o;
    const url = `${o.authorityHost.replace(/\/+$/, '')}/${encodeURIComponent(o.tenantId)}/oauth2/v2.0/token`;
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: o.clientId,
      client_secret: await this.#clientSecret(),
      scope: KEY_VAULT_SCOPE,
    });
    let res;
    try {
      res = await boundedFetch(
        url,
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: form.toString(),
        },
        { timeoutMs: this.#timeoutMs, maxBytes: MAX_TOKEN_RESPONSE },
      );
    } catch (err) {
      const why = err instanceof FetchLimitError ? err.message : String(err);
      throw new KeyVaultError('token', `token endpoint ${new URL(url).origin} unreachable: ${why}`);
    }
    let body: { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } = {};
    try {
      body = JSON.parse(res.text) as typeof body;
    } catch {
      /* reported below */
    }
    if (res.status !== 200 || typeof body.access_token !== 'string') {
      const e = typeof body.error === 'string' ? body.error : `HTTP ${res.status}`;
      const d = typeof body.error_description === 'string' ? `: ${body.error_description.split(/\r?\n/)[0]!.slice(0, 300)}` : '';
      throw new KeyVaultError('token', `no token for client ${o.clientId} in tenant ${o.tenantId} (${e}${d})`);
    }
    const ttl = Number(body.expires_in);
    this.#token = { value: body.access_token, expiresAt: now + (Number.isFinite(ttl) && ttl > 0 ? ttl * 1000 : 300_000) };
    return body.access_token;
  }
}
