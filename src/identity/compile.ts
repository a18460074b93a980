/**
 * Tenant and Application resources → an immutable IdentityConfig: specs
 * validated with their schemas, references resolved, secrets loaded from
 * environment variables or files. Problems are reported per resource (a broken
 * application is left out; the rest keeps working).
 */
import { readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import type { Resource } from '../config/model.js';
import type { ConfigIssue } from '../errors.js';
import { parseDuration } from '../util/duration.js';
import { importInlineKey } from '../middlewares/validate-jwt/keys.js';
import type { VerifyKey } from '../middlewares/validate-jwt/jws.js';
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

const MAX_SECRET_FILE = 64 * 1024;

/** A stable GUID derived from a name (used for service principal object ids). */
export function derivedGuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function issueAt(r: Resource, field: string | undefined, message: string, severity: 'error' | 'warning' = 'error'): ConfigIssue {
  return { ...r.source, object: `${r.kind} ${r.namespace !== undefined ? `${r.namespace}/` : ''}${r.name}`, ...(field !== undefined ? { field } : {}), message, severity };
}

function validate<T>(schema: TSchema, r: Resource, issues: ConfigIssue[]): T | null {
  const errs = [...Value.Errors(schema, r.spec)].slice(0, 10);
  if (errs.length === 0) return r.spec as T;
  for (const e of errs) {
    const path = e.path.split('/').filter((p) => p !== '').join('.');
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

function secretsOf(r: Resource, spec: ApplicationSpec, env: NodeJS.ProcessEnv, issues: ConfigIssue[]): SecretEntry[] {
  const out: SecretEntry[] = [];
  for (const [i, c] of (spec.passwordCredentials ?? []).entries()) {
    const f = `spec.passwordCredentials.${i}`;
    const expiresAt = date(r, `${f}.endDateTime`, c.endDateTime, issues);
    if (expiresAt === null) continue;
    const forms = (c.secretHash !== undefined ? 1 : 0) + (c.secretFrom !== undefined ? 1 : 0);
    if (forms !== 1) {
      issues.push(issueAt(r, f, 'give exactly one of secretHash or secretFrom'));
      continue;
    }
    if (c.secretHash !== undefined) {
      if (!isSecretHash(c.secretHash)) issues.push(issueAt(r, `${f}.secretHash`, 'not a hash made by `gatehouse hash-secret` ($scrypt$ln=…,r=…,p=…$salt$hash)'));
      else out.push({ kind: 'hash', value: c.secretHash, expiresAt });
      continue;
    }
    const from = c.secretFrom ?? {};
    if ((from.env === undefined) === (from.file === undefined)) {
      issues.push(issueAt(r, `${f}.secretFrom`, 'give exactly one of env or file'));
      continue;
    }
    let value: string | undefined;
    if (from.env !== undefined) {
      value = env[from.env];
      if (value === undefined || value === '') {
        issues.push(issueAt(r, `${f}.secretFrom.env`, `environment variable ${from.env} is not set; this credential is disabled`));
        continue;
      }
    } else {
      const file = from.file as string;
      try {
        if (statSync(file).size > MAX_SECRET_FILE) throw new Error(`larger than ${MAX_SECRET_FILE} bytes`);
        value = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
      } catch (err) {
        issues.push(issueAt(r, `${f}.secretFrom.file`, `cannot read ${file}: ${(err as Error).message.split('\n')[0]}; this credential is disabled`));
        continue;
      }
    }
    if (value.length < 16) issues.push(issueAt(r, f, 'client secret shorter than 16 characters', 'warning'));
    out.push({ kind: 'plain', value, expiresAt });
  }
  return out;
}

function certsOf(r: Resource, spec: ApplicationSpec, issues: ConfigIssue[]): CertEntry[] {
  const out: CertEntry[] = [];
  for (const [i, c] of (spec.keyCredentials ?? []).entries()) {
    const f = `spec.keyCredentials.${i}`;
    const expiresAt = date(r, `${f}.endDateTime`, c.endDateTime, issues);
    if (expiresAt === null) continue;
    try {
      const key = importInlineKey({ pem: c.pem, jwk: c.jwk, kid: c.kid }, `${r.name} ${f}`);
      if (key.family === 'oct') throw new Error('symmetric keys are not client certificates');
      out.push({ key, expiresAt });
    } catch (err) {
      issues.push(issueAt(r, f, (err as Error).message));
    }
  }
  return out;
}

export function compileIdentity(resources: readonly Resource[], env: NodeJS.ProcessEnv): { config: IdentityConfig; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const byKey = new Map<string, { entry: TenantEntry; apps: Map<string, AppEntry>; uris: Map<string, AppEntry> }>();
  const list: TenantEntry[] = [];
  for (const r of resources) {
    if (r.kind !== 'Tenant') continue;
    const spec = validate<TenantSpec>(TenantSpecSchema, r, issues);
    if (spec === null) continue;
    const id = spec.tenantId.toLowerCase();
    if (byKey.has(id) || byKey.has(r.name.toLowerCase()) || (spec.domain !== undefined && byKey.has(spec.domain.toLowerCase()))) {
      issues.push(issueAt(r, 'spec.tenantId', 'a tenant with this id, name or domain is already defined'));
      continue;
    }
    let lifetime = 3600;
    if (spec.accessTokenLifetime !== undefined) {
      try {
        lifetime = Math.round(parseDuration(spec.accessTokenLifetime) / 1000);
        if (lifetime < 300 || lifetime > 86_400) throw new Error('must be between 5m and 24h');
      } catch (err) {
        issues.push(issueAt(r, 'spec.accessTokenLifetime', (err as Error).message));
        lifetime = 3600;
      }
    }
    const apps = new Map<string, AppEntry>();
    const uris = new Map<string, AppEntry>();
    const entry: TenantEntry = { name: r.name, tenantId: id, domain: spec.domain?.toLowerCase(), tokenLifetimeSec: lifetime, apps, appsByUri: uris };
    const rec = { entry, apps, uris };
    list.push(entry);
    byKey.set(id, rec);
    byKey.set(r.name.toLowerCase(), rec);
    if (spec.domain !== undefined) byKey.set(spec.domain.toLowerCase(), rec);
  }
  for (const r of resources) {
    if (r.kind !== 'Application') continue;
    const spec = validate<ApplicationSpec>(ApplicationSpecSchema, r, issues);
    if (spec === null) continue;
    const t = byKey.get(spec.tenant.toLowerCase());
    if (t === undefined) {
      issues.push(issueAt(r, 'spec.tenant', `tenant "${spec.tenant}" is not defined (by name, tenantId or domain)`));
      continue;
    }
    const appId = spec.appId.toLowerCase();
    if (t.apps.has(appId)) {
      issues.push(issueAt(r, 'spec.appId', `application ${appId} is already defined in tenant ${t.entry.name}`));
      continue;
    }
    const roles = new Map<string, AppRoleEntry>();
    for (const role of spec.appRoles ?? []) {
      roles.set(role.value, { value: role.value, id: role.id, forApplications: (role.allowedMemberTypes ?? ['Application']).includes('Application'), enabled: role.isEnabled ?? true });
    }
    const grants = new Map<string, string[]>();
    for (const g of spec.grants ?? []) grants.set(g.resourceAppId.toLowerCase(), [...(grants.get(g.resourceAppId.toLowerCase()) ?? []), ...g.roles]);
    const app: AppEntry = {
      name: r.name,
      appId,
      displayName: spec.displayName ?? r.name,
      objectId: (spec.objectId ?? derivedGuid(`${t.entry.tenantId}/${appId}`)).toLowerCase(),
      identifierUris: spec.identifierUris ?? [],
      tokenVersion: spec.accessTokenAcceptedVersion === 1 ? 1 : 2,
      roles,
      secrets: secretsOf(r, spec, env, issues),
      certs: certsOf(r, spec, issues),
      grants,
    };
    let clash = false;
    for (const [i, u] of app.identifierUris.entries()) {
      if (t.uris.has(u)) {
        issues.push(issueAt(r, `spec.identifierUris.${i}`, `identifier URI ${u} is already used by application ${t.uris.get(u)?.name ?? ''}`));
        clash = true;
      }
    }
    if (clash) continue;
    t.apps.set(appId, app);
    for (const u of app.identifierUris) t.uris.set(u, app);
  }
  // Grants naming unknown APIs or roles are reported (and simply grant nothing).
  for (const r of resources) {
    if (r.kind !== 'Application' || !Value.Check(ApplicationSpecSchema, r.spec)) continue;
    const spec = r.spec as ApplicationSpec;
    const t = byKey.get(spec.tenant.toLowerCase());
    if (t === undefined) continue;
    for (const [i, g] of (spec.grants ?? []).entries()) {
      const api = t.apps.get(g.resourceAppId.toLowerCase());
      if (api === undefined) {
        issues.push(issueAt(r, `spec.grants.${i}.resourceAppId`, `application ${g.resourceAppId} is not defined in tenant ${t.entry.name}`, 'warning'));
        continue;
      }
      for (const [j, role] of g.roles.entries()) {
        if (!api.roles.has(role)) issues.push(issueAt(r, `spec.grants.${i}.roles.${j}`, `application ${api.name} has no app role "${role}"`, 'warning'));
      }
    }
  }
  const tenants = new Map<string, TenantEntry>();
  for (const [k, v] of byKey) tenants.set(k, v.entry);
  return { config: { tenants, list }, issues };
}
