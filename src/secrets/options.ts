/**
 * `--secrets.*` (static configuration) → the options of the secret store,
 * checked once at start-up with errors that name the flag.
 */
import { resolve } from 'node:path';

export interface AzureKeyVaultOptions {
  readonly tenantId: string;
  readonly clientId: string;
  /** Absolute path. */
  readonly clientSecretFile: string;
  readonly authorityHost: string;
  readonly vaultUrlTemplate: string;
}

export interface SecretsOptions {
  readonly refreshIntervalMs: number;
  /** null: `--secrets.azurekeyvault.*` not given (AzureKeyVaultSecret objects then report that). */
  readonly azureKeyVault: AzureKeyVaultOptions | null;
}

export interface SecretsStaticSection {
  readonly refreshinterval: number;
  readonly azurekeyvault?: {
    readonly tenantid?: string;
    readonly clientid?: string;
    readonly clientsecretfile?: string;
    readonly authorityhost: string;
    readonly vaulturltemplate: string;
  };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

function checkUrl(flag: string, text: string): void {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new Error(`--${flag}: "${text}" is not a URL`);
  }
  if (u.protocol === 'https:') return;
  if (u.protocol === 'http:' && LOOPBACK.has(u.hostname)) return;
  throw new Error(`--${flag}: "${text}" must be https:// (http:// only on a loopback address): a bearer token or client secret goes there`);
}

export function secretsOptionsFromStatic(s: SecretsStaticSection, cwd: string): SecretsOptions {
  if (s.refreshinterval < 1000) throw new Error('--secrets.refreshinterval must be at least 1s');
  const a = s.azurekeyvault;
  if (a === undefined) return { refreshIntervalMs: s.refreshinterval, azureKeyVault: null };
  const missing = (['tenantid', 'clientid', 'clientsecretfile'] as const).filter((k) => a[k] === undefined || a[k]?.trim() === '');
  if (missing.length > 0)
    throw new Error(`Azure Key Vault needs ${missing.map((k) => `--secrets.azurekeyvault.${k}`).join(', ')} (docs/secrets.md)`);
  checkUrl('secrets.azurekeyvault.authorityhost', a.authorityhost);
  if (!a.vaulturltemplate.includes('{name}'))
    throw new Error(`--secrets.azurekeyvault.vaulturltemplate: "${a.vaulturltemplate}" must contain {name} (the vault's name)`);
  checkUrl('secrets.azurekeyvault.vaulturltemplate', a.vaulturltemplate.replaceAll('{name}', 'vault'));
  return {
    refreshIntervalMs: s.refreshinterval,
    azureKeyVault: {
      tenantId: (a.tenantid as string).trim(),
      clientId: (a.clientid as string).trim(),
      clientSecretFile: resolve(cwd, a.clientsecretfile as string),
      authorityHost: a.authorityhost.replace(/\/+$/, ''),
      vaultUrlTemplate: a.vaulturltemplate.replace(/\/+$/, ''),
    },
  };
}
