/**
 * Tenant and Application resources → the identity section of the snapshot
 * (compileIdentitySection: specs validated with their schemas, references
 * resolved, plain JSON that names where each secret is but never holds it),
 * then → an IdentityConfig in the process that serves tokens
 * (materializeIdentity: secrets read from environment variables or files,
 * keys imported). Problems are reported per resource (a broken application
 * is left out; the rest keeps working).
 */
import { readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import type { Resource } from '../config/model.js';
import type { ConfigIssue } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import { importInlineKey } from '../jose/keys.js';
import type { VerifyKey } from '../jose/jws.js';
import { ApplicationSpecSchema, TenantSpecSchema, type ApplicationSpec, type TenantSpec } from './schema.js';
import { isSecretHash } from './secret-hash.js';

export interface SecretEntry {
  readonly kind: 'hash' | 'plain';
  /** scrypt PHC string (kind hash) or the plain secret (kind plain; never logged). */
  readonly value: string;
  /** Epoch ms; undefined when it never expires. */
  readonly expiresAt: number | undefined;
}

export interface CertEntry {
  readonly key: VerifyKey;
  readonly expiresAt: number | undefined;
}

export interface AppRoleEntry {
  readonly value: string;
  readonly id: string;
  readonly forApplications: boolean;
  readonly enabled: boolean;
}

export interface AppEntry {
  readonly name: string;
  readonly appId: string;
  readonly displayName: string;
  readonly objectId: string;
  readonly identifierUris: readonly string[];
  readonly tokenVersion: 1 | 2;
  readonly roles: ReadonlyMap<string, AppRoleEntry>;
  readonly secrets: readonly SecretEntry[];
  readonly certs: readonly CertEntry[];
  /** resourceAppId → granted role values. */
  readonly grants: ReadonlyMap<string, readonly string[]>;
}

export interface TenantEntry {
  readonly name: string;
  readonly tenantId: string;
  readonly domain: string | undefined;
  readonly tokenLifetimeSec: number;
  /** by appId (lower-case). */
  readonly apps: ReadonlyMap<string, AppEntry>;
  /** by identifier URI. */
  readonly appsByUri: ReadonlyMap<string, AppEntry>;
}

export interface IdentityConfig {
  /** Tenants by tenant id, domain and metadata name (lower-case keys). */
  readonly tenants: ReadonlyMap<string, TenantEntry>;
  /** Distinct tenants. */
  readonly list: readonly TenantEntry[];
}

export const emptyIdentityConfig: IdentityConfig = { tenants: new Map(), list: [] };

/** Where a client secret is: a hash (not a secret), or the name of a variable or file holding it. */
export type SecretRef =
  | { readonly kind: 'hash'; readonly value: string; readonly expiresAt?: number }
  | { readonly kind: 'env'; readonly name: string; readonly expiresAt?: number }
  | { readonly kind: 'file'; readonly path: string; readonly expiresAt?: number }
  /**
   * From a Secret (v1, or written by an AzureKeyVaultSecret and resolved by the
   * primary): the value itself, which travels inside the snapshot to the
   * serving processes (IPC) and is shown by no API.
   */
  | { readonly kind: 'secret'; readonly from: string; readonly value: string; readonly expiresAt?: number };

export interface CertRef {
  readonly pem?: string;
  readonly jwk?: Record<string, unknown>;
  readonly kid?: string;
  /** Names the credential in errors (`<app> spec.keyCredentials.<i>`). */
  readonly label: string;
  readonly expiresAt?: number;
}

export interface AppSection {
  readonly name: string;
  readonly appId: string;
  readonly displayName: string;
  readonly objectId: string;
  readonly identifierUris: readonly string[];
  readonly tokenVersion: 1 | 2;
  readonly roles: readonly AppRoleEntry[];
  readonly secrets: readonly SecretRef[];
  readonly certs: readonly CertRef[];
  /** [resourceAppId, granted role values] */
  readonly grants: ReadonlyArray<readonly [string, readonly string[]]>;
}

export interface TenantSection {
  readonly name: string;
  readonly tenantId: string;
  readonly domain?: string;
  readonly tokenLifetimeSec: number;
  readonly apps: readonly AppSection[];
}

/**
 * The identity section of a snapshot: plain JSON; no secret values except
 * client secrets read from Secrets (`kind: 'secret'`), which no API shows.
 */
export interface IdentitySection {
  readonly tenants: readonly TenantSection[];
}

export const emptyIdentitySection: IdentitySection = { tenants: [] };

const MAX_SECRET_FILE = 64 * 1024;

/** A stable GUID derived from a name (used for service principal object ids). */
export function derivedGuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function issueAt(r: Resource, field: string | undefined, message: string, severity: 'error' | 'warning' = 'error'): ConfigIssue {
  return {
    ...r.source,
    object: `${r.kind} ${r.namespace !== undefined ? `${r.namespace}/` : ''}${r.name}`,
    ...(field !== undefined ? { field } : {}),
    message,
    severity,
  };
}

function validate<T>(schema: TSchema, r: Resource, issues: ConfigIssue[]): T | null {
  const errs = [...Value.Errors(schema, r.spec)].slice(0, 10);
  if (errs.length === 0) return r.spec as T;
  for (const e of errs) {
    const path = e.path
      .split('/')
      .filter((p) => p !== '')
      .join('.');
    issues.push(issueAt(r, path === '' ? 'spec' : `spec.${path}`, `${e.message.replace(/^Expected/, 'expected')}`));
  }
  return null;
}

function date(r: Resource, field: string, s: string | undefined, issues: ConfigIssue[]): number | undefined | null {
  if (s === undefined) return undefined;
  const t = Date.parse(s);
  if (Number.isNaN(t)) {
    issues.push(issueAt(r, field, `"${s}" is not a date-time`));
    return null;
  }
  return t;
}

/** Read a secret the section refers to; undefined (with the reason) when it cannot be had. */
function readSecret(ref: Exclude<SecretRef, { kind: 'hash' | 'secret' }>, env: NodeJS.ProcessEnv): { value: string } | { error: string } {
  if (ref.kind === 'env') {
    const value = env[ref.name];
    return value === undefined || value === '' ? { error: `environment variable ${ref.name} is not set` } : { value };
  }
  try {
    if (statSync(ref.path).size > MAX_SECRET_FILE) throw new Error(`larger than ${MAX_SECRET_FILE} bytes`);
    return { value: readFileSync(ref.path, 'utf8').replace(/\r?\n$/, '') };
  } catch (err) {
    return { error: `cannot read ${ref.path}: ${(err as Error).message.split('\n')[0]}` };
  }
}

function secretsOf(r: Resource, spec: ApplicationSpec, env: NodeJS.ProcessEnv, issues: ConfigIssue[]): SecretRef[] {
  const out: SecretRef[] = [];
  for (const [i, c] of (spec.passwordCredentials ?? []).entries()) {
    const f = `spec.passwordCredentials.${i}`;
    const expiresAt = date(r, `${f}.endDateTime`, c.endDateTime, issues);
    if (expiresAt === null) continue;
    const exp = expiresAt !== undefined ? { expiresAt } : {};
    const forms = (c.secretHash !== undefined ? 1 : 0) + (c.secretFrom !== undefined ? 1 : 0);
    if (forms !== 1) {
      issues.push(issueAt(r, f, 'give exactly one of secretHash or secretFrom'));
      continue;
    }
    if (c.secretHash !== undefined) {
      if (!isSecretHash(c.secretHash))
        issues.push(issueAt(r, `${f}.secretHash`, 'not a hash made by `gatehouse hash-secret` ($scrypt$ln=…,r=…,p=…$salt$hash)'));
      else out.push({ kind: 'hash', value: c.secretHash, ...exp });
      continue;
    }
    const from = c.secretFrom ?? {};
    if ((from.env !== undefined ? 1 : 0) + (from.file !== undefined ? 1 : 0) + (from.secret !== undefined ? 1 : 0) !== 1) {
      issues.push(issueAt(r, `${f}.secretFrom`, 'give exactly one of env, file or secret'));
      continue;
    }
    if (from.secret !== undefined) {
      const s = from.secret;
      const ns = r.namespace ?? 'default';
      if (s.value === undefined) {
        const why = s.error ?? `Secret ${ns}/${s.name} not found: expected a v1 Secret or an AzureKeyVaultSecret output in namespace ${ns}`;
        issues.push(issueAt(r, `${f}.secretFrom.secret`, `${why}; this credential is disabled`));
        continue;
      }
      if (s.value.length < 16) issues.push(issueAt(r, f, 'client secret shorter than 16 characters', 'warning'));
      out.push({ kind: 'secret', from: `Secret ${ns}/${s.name} key ${s.key}`, value: s.value, ...exp });
      continue;
    }
    const ref: Exclude<SecretRef, { kind: 'hash' | 'secret' }> =
      from.env !== undefined ? { kind: 'env', name: from.env, ...exp } : { kind: 'file', path: from.file as string, ...exp };
    // Checked here so the problem shows in check and the API; the value itself stays out of the snapshot.
    const got = readSecret(ref, env);
    if ('error' in got) {
      issues.push(issueAt(r, `${f}.secretFrom.${ref.kind}`, `${got.error}; this credential is disabled`));
      continue;
    }
    if (got.value.length < 16) issues.push(issueAt(r, f, 'client secret shorter than 16 characters', 'warning'));
    out.push(ref);
  }
  return out;
}

function certsOf(r: Resource, spec: ApplicationSpec, issues: ConfigIssue[]): CertRef[] {
  const out: CertRef[] = [];
  for (const [i, c] of (spec.keyCredentials ?? []).entries()) {
    const f = `spec.keyCredentials.${i}`;
    const expiresAt = date(r, `${f}.endDateTime`, c.endDateTime, issues);
    if (expiresAt === null) continue;
    const ref: CertRef = {
      label: `${r.name} ${f}`,
      ...(c.pem !== undefined ? { pem: c.pem } : {}),
      ...(c.jwk !== undefined ? { jwk: c.jwk as Record<string, unknown> } : {}),
      ...(c.kid !== undefined ? { kid: c.kid } : {}),
      ...(expiresAt !== undefined ? { expiresAt } : {}),
    };
    try {
      importCert(ref);
      out.push(ref);
    } catch (err) {
      issues.push(issueAt(r, f, (err as Error).message));
    }
  }
  return out;
}

function importCert(ref: CertRef): VerifyKey {
  const key = importInlineKey({ pem: ref.pem, jwk: ref.jwk, kid: ref.kid }, ref.label);
  if (key.family === 'oct') throw new Error('symmetric keys are not client certificates');
  return key;
}

interface TenantDraft {
  section: { name: string; tenantId: string; domain?: string; tokenLifetimeSec: number; apps: AppSection[] };
  /** appIds and identifier URIs taken in this tenant. */
  apps: Map<string, AppSection>;
  uris: Map<string, AppSection>;
}

function tenantLifetime(r: Resource, spec: TenantSpec, issues: ConfigIssue[]): number {
  if (spec.accessTokenLifetime === undefined) return 3600;
  try {
    const lifetime = Math.round(parseDuration(spec.accessTokenLifetime) / 1000);
    if (lifetime < 300 || lifetime > 86_400) throw new Error('must be between 5m and 24h');
    return lifetime;
  } catch (err) {
    issues.push(issueAt(r, 'spec.accessTokenLifetime', (err as Error).message));
    return 3600;
  }
}

function compileTenants(resources: readonly Resource[], issues: ConfigIssue[]): { byKey: Map<string, TenantDraft>; list: TenantDraft[] } {
  const byKey = new Map<string, TenantDraft>();
  const list: TenantDraft[] = [];
  for (const r of resources) {
    if (r.kind !== 'Tenant') continue;
    const spec = validate<TenantSpec>(TenantSpecSchema, r, issues);
    if (spec === null) continue;
    const id = spec.tenantId.toLowerCase();
    if (byKey.has(id) || byKey.has(r.name.toLowerCase()) || (spec.domain !== undefined && byKey.has(spec.domain.toLowerCase()))) {
      issues.push(issueAt(r, 'spec.tenantId', 'a tenant with this id, name or domain is already defined'));
      continue;
    }
    const lifetime = tenantLifetime(r, spec, issues);
    const draft: TenantDraft = {
      section: {
        name: r.name,
        tenantId: id,
        ...(spec.domain !== undefined ? { domain: spec.domain.toLowerCase() } : {}),
        tokenLifetimeSec: lifetime,
        apps: [],
      },
      apps: new Map(),
      uris: new Map(),
    };
    list.push(draft);
    byKey.set(id, draft);
    byKey.set(r.name.toLowerCase(), draft);
    if (spec.domain !== undefined) byKey.set(spec.domain.toLowerCase(), draft);
  }
  return { byKey, list };
}

function compileApplication(r: Resource, spec: ApplicationSpec, t: TenantDraft, env: NodeJS.ProcessEnv, issues: ConfigIssue[]): void {
  const appId = spec.appId.toLowerCase();
  if (t.apps.has(appId)) {
    issues.push(issueAt(r, 'spec.appId', `application ${appId} is already defined in tenant ${t.section.name}`));
    return;
  }
  const roles = (spec.appRoles ?? []).map((role): AppRoleEntry => ({
    value: role.value,
    id: role.id,
    forApplications: (role.allowedMemberTypes ?? ['Application']).includes('Application'),
    enabled: role.isEnabled ?? true,
  }));
  const grants = new Map<string, string[]>();
  for (const g of spec.grants ?? [])
    grants.set(g.resourceAppId.toLowerCase(), [...(grants.get(g.resourceAppId.toLowerCase()) ?? []), ...g.roles]);
  const app: AppSection = {
    name: r.name,
    appId,
    displayName: spec.displayName ?? r.name,
    objectId: (spec.objectId ?? derivedGuid(`${t.section.tenantId}/${appId}`)).toLowerCase(),
    identifierUris: spec.identifierUris ?? [],
    tokenVersion: spec.accessTokenAcceptedVersion === 1 ? 1 : 2,
    roles,
    secrets: secretsOf(r, spec, env, issues),
    certs: certsOf(r, spec, issues),
    grants: [...grants],
  };
  let clash = false;
  for (const [i, u] of app.identifierUris.entries()) {
    if (t.uris.has(u)) {
      issues.push(
        issueAt(r, `spec.identifierUris.${i}`, `identifier URI ${u} is already used by application ${t.uris.get(u)?.name ?? ''}`),
      );
      clash = true;
    }
  }
  if (clash) return;
  t.apps.set(appId, app);
  t.section.apps.push(app);
  for (const u of app.identifierUris) t.uris.set(u, app);
}

/** Grants naming unknown APIs or roles are reported (and simply grant nothing). */
function checkGrants(resources: readonly Resource[], byKey: Map<string, TenantDraft>, issues: ConfigIssue[]): void {
  for (const r of resources) {
    if (r.kind !== 'Application' || !Value.Check(ApplicationSpecSchema, r.spec)) continue;
    const spec = r.spec as ApplicationSpec;
    const t = byKey.get(spec.tenant.toLowerCase());
    if (t === undefined) continue;
    for (const [i, g] of (spec.grants ?? []).entries()) {
      const api = t.apps.get(g.resourceAppId.toLowerCase());
      if (api === undefined) {
        issues.push(
          issueAt(
            r,
            `spec.grants.${i}.resourceAppId`,
            `application ${g.resourceAppId} is not defined in tenant ${t.section.name}`,
            'warning',
          ),
        );
        continue;
      }
      for (const [j, role] of g.roles.entries()) {
        if (!api.roles.some((x) => x.value === role))
          issues.push(issueAt(r, `spec.grants.${i}.roles.${j}`, `application ${api.name} has no app role "${role}"`, 'warning'));
      }
    }
  }
}

/**
 * Tenant and Application resources → the identity section. `env` is only
 * used to check that each referenced secret exists (workers inherit the
 * primary's environment); no secret value enters the section.
 */
export function compileIdentitySection(
  resources: readonly Resource[],
  env: NodeJS.ProcessEnv,
): { section: IdentitySection; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const { byKey, list } = compileTenants(resources, issues);
  for (const r of resources) {
    if (r.kind !== 'Application') continue;
    const spec = validate<ApplicationSpec>(ApplicationSpecSchema, r, issues);
    if (spec === null) continue;
    const t = byKey.get(spec.tenant.toLowerCase());
    if (t === undefined) {
      issues.push(issueAt(r, 'spec.tenant', `tenant "${spec.tenant}" is not defined (by name, tenantId or domain)`));
      continue;
    }
    compileApplication(r, spec, t, env, issues);
  }
  checkGrants(resources, byKey, issues);
  return { section: { tenants: list.map((t) => t.section) }, issues };
}

function materializeApp(a: AppSection, env: NodeJS.ProcessEnv): AppEntry {
  const secrets: SecretEntry[] = [];
  for (const ref of a.secrets) {
    if (ref.kind === 'hash') {
      secrets.push({ kind: 'hash', value: ref.value, expiresAt: ref.expiresAt });
      continue;
    }
    if (ref.kind === 'secret') {
      secrets.push({ kind: 'plain', value: ref.value, expiresAt: ref.expiresAt });
      continue;
    }
    // A secret that went away since the compile (reported then) just does not authenticate.
    const got = readSecret(ref, env);
    if ('value' in got) secrets.push({ kind: 'plain', value: got.value, expiresAt: ref.expiresAt });
  }
  const certs: CertEntry[] = [];
  for (const c of a.certs) {
    try {
      certs.push({ key: importCert(c), expiresAt: c.expiresAt });
    } catch {
      /* reported by the compile */
    }
  }
  return {
    name: a.name,
    appId: a.appId,
    displayName: a.displayName,
    objectId: a.objectId,
    identifierUris: a.identifierUris,
    tokenVersion: a.tokenVersion,
    roles: new Map(a.roles.map((r) => [r.value, r])),
    secrets,
    certs,
    grants: new Map(a.grants.map(([k, v]) => [k, v])),
  };
}

/** The identity section → the IdentityConfig the issuer serves from (secrets read, keys imported). */
export function materializeIdentity(section: IdentitySection, env: NodeJS.ProcessEnv): IdentityConfig {
  const tenants = new Map<string, TenantEntry>();
  const list: TenantEntry[] = [];
  for (const t of section.tenants) {
    const apps = new Map<string, AppEntry>();
    const uris = new Map<string, AppEntry>();
    for (const a of t.apps) {
      const app = materializeApp(a, env);
      apps.set(app.appId, app);
      for (const u of app.identifierUris) uris.set(u, app);
    }
    const entry: TenantEntry = {
      name: t.name,
      tenantId: t.tenantId,
      domain: t.domain,
      tokenLifetimeSec: t.tokenLifetimeSec,
      apps,
      appsByUri: uris,
    };
    list.push(entry);
    tenants.set(t.tenantId, entry);
    tenants.set(t.name.toLowerCase(), entry);
    if (t.domain !== undefined) tenants.set(t.domain, entry);
  }
  return { tenants, list };
}

/** Both steps at once (tests, the CLI): resources → IdentityConfig and the issues. */
export function compileIdentity(resources: readonly Resource[], env: NodeJS.ProcessEnv): { config: IdentityConfig; issues: ConfigIssue[] } {
  const { section, issues } = compileIdentitySection(resources, env);
  return { config: materializeIdentity(section, env), issues };
}
