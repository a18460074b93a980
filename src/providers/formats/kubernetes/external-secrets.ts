/**
 * Secrets whose data lives outside the configuration (Azure Key Vault, through
 * akv2k8s's AzureKeyVaultSecret). Conversion runs where the provider reads its
 * files and cannot wait for a vault, so a reference to such a Secret (a
 * basicAuth `secret`, a forwardAuth `tls.caSecret`, an Application's
 * `secretFrom.secret`) is converted to a marker naming the Secret and what is
 * read from it; the compile step of the primary then replaces every marker by
 * the data of the vault object it holds now (`resolveExternalSecrets`), each
 * time it compiles. A marker that cannot be resolved disables what holds it,
 * with the reason; values never appear in an issue.
 */
import { parse as parseYaml } from 'yaml';
import type { ConfigIssue, SourceLocation } from '../../../errors.js';
import type { ConfigFragment, Item, Resource } from '../../../config/model.js';
import type { MiddlewareConfig } from '../../../config/schema.js';
import { caFromData, certFromData, SecretFormatError, usersFromData, type SecretData } from './secrets.js';
import { isRecord } from './objects.js';
import { tlsFromCertificateSecret } from './akv-certificate.js';

export const AKV_KIND = 'AzureKeyVaultSecret';
const MARK = '$externalSecret';
const MAX_VALUE = 1024 * 1024;

export type AkvTransform = 'trim' | 'base64encode' | 'base64decode';

/** An AzureKeyVaultSecret, normalised (the `spec` of its resource). No value. */
export interface AkvSecretSpec {
  readonly vault: string;
  readonly object: string;
  /** '' = the latest version. */
  readonly version: string;
  readonly type: 'secret' | 'multi-key-value-secret' | 'certificate';
  readonly contentType?: 'application/x-json' | 'application/x-yaml';
  /** The Secret it writes (in the object's namespace). */
  readonly secretName: string;
  readonly dataKey?: string;
  readonly secretType: string;
  readonly transforms: readonly AkvTransform[];
  /** `certificate`: move the certificate that matches the key first (akv2k8s `output.secret.chainOrder`). */
  readonly chainOrder?: 'ensureserverfirst';
  /** metadata.name of the AzureKeyVaultSecret. */
  readonly akvName: string;
}

/** What a marker reads from its Secret. */
export type SecretUse = 'users-basic' | 'users-digest' | 'ca' | 'tls.crt' | 'tls.key' | 'key';

export interface SecretMarker {
  readonly [MARK]: { readonly namespace: string; readonly name: string; readonly use: SecretUse; readonly key?: string };
}

export function secretMarker(namespace: string, name: string, use: SecretUse, key?: string): SecretMarker {
  return { [MARK]: { namespace, name, use, ...(key !== undefined ? { key } : {}) } };
}

function isMarker(v: unknown): v is SecretMarker {
  return isRecord(v) && isRecord(v[MARK]);
}

export interface VaultRef {
  readonly vault: string;
  readonly name: string;
  /** '' = the latest version. */
  readonly version: string;
}

export interface VaultWant {
  readonly ref: VaultRef;
  /** `AzureKeyVaultSecret ns/name → Secret ns/out`. */
  readonly usedBy: string;
}

export type VaultLookup =
  | { readonly state: 'pending' }
  | { readonly state: 'failed'; readonly error: string }
  /** `error`: the last refresh failed and this is the last good value. */
  | {
      readonly state: 'ok';
      readonly value: string;
      readonly version: string;
      readonly fetchedAt: string;
      readonly error?: string;
      /** The `contentType` Key Vault answered with (a certificate's secret: PEM or PKCS#12). */
      readonly contentType?: string;
    };

/** What the compile step needs of the secret store (src/secrets/store.ts). */
export interface ExternalSecretSource {
  want(wants: readonly VaultWant[]): void;
  lookup(ref: VaultRef): VaultLookup;
}

/** Apply akv2k8s's output transforms in order. */
export function applyTransforms(value: string, transforms: readonly AkvTransform[]): string {
  let v = value;
  for (const t of transforms) {
    if (t === 'trim') v = v.trim();
    else if (t === 'base64encode') v = Buffer.from(v, 'utf8').toString('base64');
    else {
      const compact = v.replace(/\s+/g, '');
      if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(compact)) throw new SecretFormatError('transform base64decode: the value is not base64');
      v = Buffer.from(compact, compact.includes('-') || compact.includes('_') ? 'base64url' : 'base64').toString('utf8');
    }
  }
  return v;
}

/**
 * The data of the Secret an AzureKeyVaultSecret writes, from the vault value:
 * `secret` → `{ dataKey: value }`; `multi-key-value-secret` → every top-level
 * key of the JSON or YAML object (scalars as text). Transforms apply to the
 * value as read from the vault, before it is split. Errors never quote the value.
 */
export function secretDataFromVault(spec: AkvSecretSpec, raw: string, contentType?: string): SecretData {
  if (raw.length > MAX_VALUE) throw new SecretFormatError('the value is larger than 1 MiB');
  if (spec.type === 'certificate') {
    const tls = tlsFromCertificateSecret(raw, contentType, spec.chainOrder === 'ensureserverfirst');
    return {
      type: 'kubernetes.io/tls',
      data: new Map([
        ['tls.crt', tls.crt],
        ['tls.key', tls.key],
      ]),
    };
  }
  const value = applyTransforms(raw, spec.transforms);
  if (spec.type === 'secret') return { type: spec.secretType, data: new Map([[spec.dataKey ?? 'value', value]]) };
  let parsed: unknown;
  const json = spec.contentType === 'application/x-json';
  try {
    parsed = json ? JSON.parse(value) : parseYaml(value, { maxAliasCount: 0 });
  } catch {
    // The parser's message may quote the value: not repeated.
    throw new SecretFormatError(`the value is not valid ${json ? 'JSON' : 'YAML'} (contentType ${spec.contentType})`);
  }
  if (!isRecord(parsed))
    throw new SecretFormatError(`the value is not a ${json ? 'JSON' : 'YAML'} object of keys and values (contentType ${spec.contentType})`);
  const data = new Map<string, string>();
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v === 'string') data.set(k, v);
    else if (typeof v === 'number' || typeof v === 'boolean') data.set(k, String(v));
    else throw new SecretFormatError(`key "${k}" of the value is not a string, number or boolean (multi-key-value-secret)`);
  }
  return { type: spec.secretType, data };
}

export interface ResolveOptions {
  /** null: no store. */
  readonly source: ExternalSecretSource | null;
  /**
   * `check`: values are not fetched; markers get placeholders so the rest is
   * validated, with a warning. `serve` without a source: an error (the flags are missing).
   */
  readonly mode: 'serve' | 'check';
}

const PLACEHOLDER: Record<SecretUse, unknown> = {
  'users-basic': ['check:{SHA}2jmj7l5rSw0yVb/vlWAYkK/YBwk='],
  'users-digest': ['check:check:00000000000000000000000000000000'],
  ca: '',
  'tls.crt': '',
  'tls.key': '',
  key: 'checked-without-azure-key-vault-0000',
};

interface Ctx {
  readonly akv: ReadonlyMap<string, { spec: AkvSecretSpec; source: SourceLocation; namespace: string }>;
  readonly opts: ResolveOptions;
  readonly issues: ConfigIssue[];
  readonly warned: Set<string>;
}

function label(spec: AkvSecretSpec, ns: string): string {
  return `Secret ${ns}/${spec.secretName} (AzureKeyVaultSecret ${ns}/${spec.akvName}: secret ${spec.object}${spec.version !== '' ? ` version ${spec.version}` : ''} of vault ${spec.vault})`;
}

/** The value a marker stands for, or a SecretFormatError saying why not. */
function resolveMarker(c: Ctx, m: SecretMarker): unknown {
  const { namespace, name, use, key } = m[MARK];
  const entry = c.akv.get(`${namespace}/${name}`);
  if (entry === undefined) throw new SecretFormatError(`Secret ${namespace}/${name} not found`);
  const { spec } = entry;
  const what = label(spec, namespace);
  if (c.opts.mode === 'check') {
    if (!c.warned.has(what)) {
      c.warned.add(what);
      c.issues.push({
        ...entry.source,
        severity: 'warning',
        message: `${what}: not fetched by check; its value is read from Azure Key Vault when the gateway runs`,
      });
    }
    return PLACEHOLDER[use];
  }
  if (c.opts.source === null)
    throw new SecretFormatError(
      `${what} cannot be read: Azure Key Vault is not configured (--secrets.azurekeyvault.tenantid, .clientid and .clientsecretfile)`,
    );
  const got = c.opts.source.lookup({ vault: spec.vault, name: spec.object, version: spec.version });
  if (got.state === 'pending') throw new SecretFormatError(`${what} is not fetched yet`);
  if (got.state === 'failed') throw new SecretFormatError(`${what} cannot be read: ${got.error}`);
  if (got.error !== undefined && !c.warned.has(what)) {
    c.warned.add(what);
    c.issues.push({
      ...entry.source,
      severity: 'warning',
      message: `${what}: refresh failed (${got.error}); the last value (version ${got.version}, fetched ${got.fetchedAt}) keeps serving`,
    });
  }
  let data: SecretData;
  try {
    data = secretDataFromVault(spec, got.value, got.contentType);
  } catch (e) {
    if (e instanceof SecretFormatError) throw new SecretFormatError(`${what}: ${e.message}`);
    throw e;
  }
  const sl = `Secret ${namespace}/${name}`;
  switch (use) {
    case 'users-basic':
      return usersFromData(sl, data, true);
    case 'users-digest':
      return usersFromData(sl, data, false);
    case 'ca':
      return caFromData(sl, data);
    case 'tls.crt':
      return certFromData(sl, data).cert;
    case 'tls.key':
      return certFromData(sl, data).key;
    case 'key': {
      const v = data.data.get(key ?? '');
      if (v === undefined || v === '')
        throw new SecretFormatError(`${sl} has no key "${key ?? ''}" (keys: ${[...data.data.keys()].join(', ') || 'none'})`);
      return v;
    }
  }
}

/** Copy `v` with every marker replaced (throws the first failure). */
function replaceAll(c: Ctx, v: unknown): unknown {
  if (isMarker(v)) return resolveMarker(c, v);
  if (Array.isArray(v)) return v.map((x) => replaceAll(c, x));
  if (isRecord(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, replaceAll(c, x)]));
  return v;
}

function hasMarker(v: unknown): boolean {
  if (isMarker(v)) return true;
  if (Array.isArray(v)) return v.some(hasMarker);
  if (isRecord(v)) return Object.values(v).some(hasMarker);
  return false;
}

/**
 * Resource specs: an object whose `value` is a marker gets the value, or
 * `error` (the reason) instead; its consumer (the identity compiler) reports
 * it where it uses it.
 */
function replaceInResource(c: Ctx, v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => replaceInResource(c, x));
  if (!isRecord(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = replaceInResource(c, x);
  if (isMarker(v.value)) {
    try {
      out.value = resolveMarker(c, v.value);
    } catch (e) {
      if (!(e instanceof SecretFormatError)) throw e;
      delete out.value;
      out.error = e.message;
    }
  }
  return out;
}

/**
 * Every marker of every fragment replaced by what its Secret holds now (new
 * fragments; the given ones are not changed). Also returns the vault objects
 * the fragments use, for the store to fetch.
 */
export function resolveExternalSecrets(
  fragments: readonly ConfigFragment[],
  opts: ResolveOptions,
): { fragments: ConfigFragment[]; wants: VaultWant[] } {
  const wants: VaultWant[] = [];
  const out: ConfigFragment[] = [];
  for (const f of fragments) {
    const akv = new Map<string, { spec: AkvSecretSpec; source: SourceLocation; namespace: string }>();
    for (const r of f.resources) {
      if (r.kind !== AKV_KIND) continue;
      const spec = r.spec as AkvSecretSpec;
      const ns = r.namespace ?? 'default';
      akv.set(`${ns}/${spec.secretName}`, { spec, source: r.source, namespace: ns });
      wants.push({
        ref: { vault: spec.vault, name: spec.object, version: spec.version },
        usedBy: `AzureKeyVaultSecret ${ns}/${spec.akvName} → Secret ${ns}/${spec.secretName}`,
      });
    }
    const markedMw = Object.entries(f.middlewares).filter(([, item]) => hasMarker(item.value));
    const markedRes = f.resources.some((r) => r.kind !== AKV_KIND && hasMarker(r.spec));
    if (markedMw.length === 0 && !markedRes && akv.size === 0) {
      out.push(f);
      continue;
    }
    const c: Ctx = { akv, opts, issues: [], warned: new Set() };
    const middlewares = Object.assign(Object.create(null) as Record<string, Item<MiddlewareConfig>>, f.middlewares);
    for (const [id, item] of markedMw) {
      try {
        middlewares[id] = { value: replaceAll(c, item.value) as MiddlewareConfig, source: item.source };
      } catch (e) {
        if (!(e instanceof SecretFormatError)) throw e;
        delete middlewares[id];
        c.issues.push({ ...item.source, severity: 'error', message: `Middleware not created ("${id}"): ${e.message}` });
      }
    }
    const resources: Resource[] = f.resources.map((r) =>
      r.kind !== AKV_KIND && hasMarker(r.spec) ? { ...r, spec: replaceInResource(c, r.spec) } : r,
    );
    out.push({ ...f, middlewares, resources, issues: [...f.issues, ...c.issues] });
  }
  return { fragments: out, wants };
}
