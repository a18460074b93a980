/**
 * Traefik kubernetescrd naming: how IngressRoute routes, generated services,
 * middlewares and transports are named inside the provider. Names are local
 * to the provider; the compiler appends `@kubernetescrd`.
 */
import { createHash } from 'node:crypto';

export const PROVIDER = 'kubernetescrd';
export const PROVIDER_SUFFIX = '@kubernetescrd';

const NOT_ALNUM = /[^\p{L}\p{N}]+/u;

/** Traefik's provider.Normalize: every run of non letter/digit characters becomes one `-`, trimmed at both ends. */
export function normalize(name: string): string {
  return name
    .split(NOT_ALNUM)
    .filter((part) => part.length > 0)
    .join('-');
}

/** `<namespace>-<name>` (Traefik's makeID, normalized). */
export function makeId(namespace: string, name: string): string {
  return normalize(namespace === '' ? name : `${namespace}-${name}`);
}

/**
 * The key of an IngressRoute route (Traefik's makeServiceKey): the IngressRoute
 * name and the first 10 bytes (20 hex digits) of the SHA-256 of the match rule.
 */
export function routeKey(namespace: string, ingressName: string, match: string): string {
  const hash = createHash('sha256').update(match).digest('hex').slice(0, 20);
  return makeId(namespace, `${ingressName}-${hash}`);
}

/**
 * The name of a service referenced from a route, a TraefikService or an
 * errors middleware (Traefik's fullServiceName): `<ns>-<name>-<port>` for a
 * Kubernetes Service, `<ns>-<name>` for a TraefikService, and a
 * cross-provider name (`api@internal`) kept as is.
 */
export function fullServiceName(namespace: string, name: string, port: string | number | undefined): string {
  if (port !== undefined && port !== '' && port !== 0) return normalize(`${namespace}-${name}-${String(port)}`);
  const at = name.lastIndexOf('@');
  if (at < 0) return normalize(`${namespace}-${name}`);
  const base = name.slice(0, at);
  const provider = name.slice(at + 1);
  if (provider === PROVIDER) return normalize(`${namespace}-${base}`);
  return `${normalize(base)}@${provider}`;
}
