/**
 * Kubernetes Secrets: `data` (base64) merged with `stringData` (plain, wins),
 * and the credentials Traefik reads from them (basicAuth/digestAuth users,
 * CA and client certificates). Secret values are never put in issue messages.
 */
import { createHash } from 'node:crypto';
import { asString, ConvertFailure, isRecord, type ConvertContext, type Path } from './objects.js';

const MAX_SECRET_BYTES = 1024 * 1024; // Kubernetes' own limit for a Secret.
const BASE64 = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

export interface SecretData {
  readonly type: string;
  readonly data: ReadonlyMap<string, string>;
}

/** Read Secret `namespace/name`; fails with an issue at `path` of the referring object. */
export function readSecret(ctx: ConvertContext, namespace: string, name: string, path: Path): SecretData {
  const obj = ctx.secret(namespace, name);
  if (obj === undefined)
    throw new ConvertFailure(path, `Secret ${namespace}/${name} not found: expected a v1 Secret with that name in namespace ${namespace}`);
  const data = new Map<string, string>();
  let total = 0;
  if (isRecord(obj.raw.data)) {
    for (const [k, v] of Object.entries(obj.raw.data)) {
      if (typeof v !== 'string' || !BASE64.test(v))
        throw new ConvertFailure(path, `Secret ${namespace}/${name}: data.${k} is not base64: expected base64 text (or use stringData)`);
      const decoded = Buffer.from(v, 'base64').toString('utf8');
      total += decoded.length;
      data.set(k, decoded);
    }
  }
  if (isRecord(obj.raw.stringData)) {
    for (const [k, v] of Object.entries(obj.raw.stringData)) {
      if (typeof v !== 'string') throw new ConvertFailure(path, `Secret ${namespace}/${name}: stringData.${k} must be a string`);
      total += v.length;
      data.set(k, v);
    }
  }
  if (total > MAX_SECRET_BYTES) throw new ConvertFailure(path, `Secret ${namespace}/${name} is larger than 1 MiB`);
  return { type: asString(obj.raw.type) ?? 'Opaque', data };
}

/**
 * basicAuth/digestAuth users from a Secret, as Traefik: a
 * `kubernetes.io/basic-auth` Secret gives one `username:{SHA}base64(sha1(password))`
 * line; otherwise the `users` key (or the single key of the Secret) holds
 * htpasswd lines, blank lines skipped.
 */
export function usersFromSecret(ctx: ConvertContext, namespace: string, name: string, path: Path, basicAuthType: boolean): string[] {
  return atPath(path, () => usersFromData(`Secret ${namespace}/${name}`, readSecret(ctx, namespace, name, path), basicAuthType));
}

/** A CA bundle: `tls.ca` or `ca.crt` (or the only key of the Secret, as Traefik v2). */
export function caFromSecret(ctx: ConvertContext, namespace: string, name: string, path: Path): string {
  return atPath(path, () => caFromData(`Secret ${namespace}/${name}`, readSecret(ctx, namespace, name, path)));
}

/** A certificate and key: `tls.crt` and `tls.key`, both non-empty. */
export function certFromSecret(ctx: ConvertContext, namespace: string, name: string, path: Path): { cert: string; key: string } {
  return atPath(path, () => certFromData(`Secret ${namespace}/${name}`, readSecret(ctx, namespace, name, path)));
}

/** A Secret's data does not hold what its user needs (the message names the Secret, never a value). */
export class SecretFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretFormatError';
  }
}

function atPath<T>(path: Path, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof SecretFormatError) throw new ConvertFailure(path, e.message);
    throw e;
  }
}

/** The users of a basicAuth/digestAuth middleware from a Secret's data (`label`: `Secret ns/name`). */
export function usersFromData(label: string, secret: SecretData, basicAuthType: boolean): string[] {
  if (basicAuthType && secret.type === 'kubernetes.io/basic-auth') {
    const username = secret.data.get('username');
    const password = secret.data.get('password');
    if (username === undefined || password === undefined)
      throw new SecretFormatError(`${label} of type kubernetes.io/basic-auth must contain both username and password keys`);
    const sum = createHash('sha1').update(password, 'utf8').digest('base64');
    return [`${username}:{SHA}${sum}`];
  }
  let text = secret.data.get('users');
  if (text === undefined) {
    if (secret.data.size !== 1)
      throw new SecretFormatError(
        `${label} has ${secret.data.size} keys: expected a "users" key (or exactly one key) holding htpasswd lines`,
      );
    text = [...secret.data.values()][0] as string;
  }
  const users = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (users.length === 0) throw new SecretFormatError(`${label} does not contain any credentials: expected htpasswd lines "user:hash"`);
  return users;
}

export function caFromData(label: string, secret: SecretData): string {
  const ca = secret.data.get('tls.ca') ?? secret.data.get('ca.crt');
  if (ca !== undefined) return ca;
  if (secret.data.size === 1) return [...secret.data.values()][0] as string;
  throw new SecretFormatError(`${label} contains neither tls.ca nor ca.crt`);
}

export function certFromData(label: string, secret: SecretData): { cert: string; key: string } {
  const cert = secret.data.get('tls.crt');
  const key = secret.data.get('tls.key');
  const missing = [cert === undefined || cert === '' ? 'tls.crt' : '', key === undefined || key === '' ? 'tls.key' : ''].filter(
    (m) => m !== '',
  );
  if (missing.length > 0) throw new SecretFormatError(`${label} is missing (or has empty) TLS entries: ${missing.join(', ')}`);
  return { cert: cert as string, key: key as string };
}
