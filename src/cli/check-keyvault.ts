/**
 * `gatehouse check` and Azure Key Vault (docs/secrets.md): with
 * `--secrets.azurekeyvault.*`, every vault object an AzureKeyVaultSecret of
 * the configuration names is read once (each request limited to 10 s, all of
 * them to 30 s) and turned into its Secret's data as the gateway would, so a
 * missing secret, a refused token or a wrong object name is reported at the
 * AzureKeyVaultSecret's file and line. With `--offline`, or without the
 * flags, nothing is fetched and each object is listed as not verified.
 * Values are never printed: a read shows its version only.
 */
import { formatIssue, type SourceLocation } from '../errors.js';
import type { Snapshot } from '../config/runtime.js';
import { AKV_KIND, secretDataFromVault, type AkvSecretSpec } from '../providers/formats/kubernetes/external-secrets.js';
import { SecretFormatError } from '../providers/formats/kubernetes/secrets.js';
import { KeyVaultClient, KeyVaultError, type VaultSecret } from '../secrets/index.js';
import type { AzureKeyVaultOptions } from '../secrets/options.js';

const REQUEST_LIMIT_MS = 10_000;
const TOTAL_LIMIT_MS = 30_000;

/** The warning the compile adds for each vault object `check` does not fetch (replaced by this check's own lines). */
export const NOT_FETCHED = /: not fetched by check; its value is read from Azure Key Vault when the gateway runs$/;

interface AkvUse {
  readonly spec: AkvSecretSpec;
  readonly namespace: string;
  readonly source: SourceLocation;
}

function uses(snap: Snapshot): AkvUse[] {
  return snap.resources
    .filter((r) => r.kind === AKV_KIND)
    .map((r) => ({ spec: r.spec as AkvSecretSpec, namespace: r.namespace ?? 'default', source: r.source }));
}

const target = (u: AkvUse): string =>
  `${u.spec.type} ${u.spec.object}${u.spec.version !== '' ? ` version ${u.spec.version}` : ''} of vault ${u.spec.vault}`;
const what = (u: AkvUse): string => `AzureKeyVaultSecret ${u.namespace}/${u.spec.akvName}: ${target(u)}`;
/** `file:line: AzureKeyVaultSecret ns/name: message`. */
const at = (u: AkvUse, message: string): string =>
  formatIssue({ ...u.source, object: u.source.object ?? `AzureKeyVaultSecret ${u.namespace}/${u.spec.akvName}`, message });

export interface KeyVaultCheck {
  /** Lines to print (✔ / ✖ / -). */
  readonly lines: string[];
  readonly failed: number;
  /** true: the vault was asked (the compile's "not fetched" warnings do not apply). */
  readonly verified: boolean;
}

/**
 * Verify the AzureKeyVaultSecrets of a compiled configuration against the
 * vault (`kv` null: not configured; `offline`: not contacted).
 */
export async function checkKeyVault(snap: Snapshot, kv: AzureKeyVaultOptions | null, offline: boolean): Promise<KeyVaultCheck> {
  const list = uses(snap);
  if (list.length === 0) return { lines: [], failed: 0, verified: false };
  if (offline || kv === null) {
    const why = offline
      ? '--offline: Azure Key Vault not contacted'
      : 'Azure Key Vault is not configured (--secrets.azurekeyvault.tenantid, .clientid, .clientsecretfile)';
    return {
      lines: [`- ${why}; not verified:`, ...list.map((u) => `    ${at(u, target(u))}`)],
      failed: 0,
      verified: false,
    };
  }
  const client = new KeyVaultClient({ ...kv, timeoutMs: REQUEST_LIMIT_MS });
  const reads = new Map<string, Promise<VaultSecret>>();
  const read = (s: AkvSecretSpec): Promise<VaultSecret> => {
    const k = `${s.vault}/${s.object}/${s.version}`.toLowerCase();
    let p = reads.get(k);
    if (p === undefined) reads.set(k, (p = client.getSecret(s.vault, s.object, s.version)));
    return p;
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_r, reject) => {
    timer = setTimeout(
      () => reject(new KeyVaultError('unavailable', `no answer within ${TOTAL_LIMIT_MS / 1000} s in all`)),
      TOTAL_LIMIT_MS,
    );
  });
  const lines: string[] = [];
  let failed = 0;
  try {
    const results = await Promise.all(
      list.map(async (u) => {
        try {
          const got = await Promise.race([read(u.spec), deadline]);
          secretDataFromVault(u.spec, got.value, got.contentType);
          return { u, ok: true as const, version: got.version };
        } catch (e) {
          if (e instanceof KeyVaultError || e instanceof SecretFormatError) return { u, ok: false as const, error: e.message };
          throw e;
        }
      }),
    );
    for (const r of results) {
      if (r.ok) lines.push(`✔ ${what(r.u)}: read (version ${r.version}) → Secret ${r.u.namespace}/${r.u.spec.secretName}`);
      else {
        failed++;
        lines.push(`✖ ${at(r.u, `${target(r.u)}: ${r.error}`)}`);
      }
    }
  } finally {
    clearTimeout(timer);
  }
  return { lines, failed, verified: true };
}
