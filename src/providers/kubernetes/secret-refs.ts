/**
 * The Secrets the watched objects name (basicAuth.secret, tls.secretName,
 * rootCAsSecrets, clientAuth.secretNames, `…SecretRef: { name }`, …): only
 * these are read, one watch each (fieldSelector metadata.name=), so the
 * provider never holds every Secret of the cluster.
 */
import type { Obj } from './informer.js';

const SECRET_KEY = /secret/i;
const MAX_DEPTH = 12;

function walk(value: unknown, namespace: string, keyIsSecret: boolean, out: Set<string>, depth: number): void {
  if (depth > MAX_DEPTH) return;
  if (typeof value === 'string') {
    if (keyIsSecret && value !== '' && !value.includes('@')) out.add(value.includes('/') ? value : `${namespace}/${value}`);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) walk(v, namespace, keyIsSecret, out, depth + 1);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const rec = value as Record<string, unknown>;
  if (keyIsSecret && typeof rec.name === 'string') {
    const ns = typeof rec.namespace === 'string' ? rec.namespace : namespace;
    out.add(`${ns}/${rec.name}`);
  }
  for (const [k, v] of Object.entries(rec)) walk(v, namespace, SECRET_KEY.test(k), out, depth + 1);
}

/** `namespace/name` of every Secret named in the objects' specs. */
export function referencedSecrets(objects: readonly Obj[]): Set<string> {
  const out = new Set<string>();
  for (const o of objects) {
    const ns = typeof o.metadata?.namespace === 'string' ? o.metadata.namespace : 'default';
    walk(o.spec, ns, false, out, 0);
  }
  return out;
}
