/**
 * A gatehouse.dev `Application`'s client secret may come from a Secret
 * (`passwordCredentials[].secretFrom.secret: { name, key }`, same namespace):
 * a v1 Secret is read here; a Secret written by an AzureKeyVaultSecret
 * becomes a marker resolved when the configuration is compiled. The result
 * is put in `secret.value`, or the reason in `secret.error`, for the identity
 * compiler; neither field may be written in the configuration itself.
 */
import { ConvertFailure, isRecord, type ConvertContext, type K8sObject } from './objects.js';
import { readSecret } from './secrets.js';
import { secretMarker } from './external-secrets.js';

/** The Application's spec with every `secretFrom.secret` resolved (or marked); other kinds unchanged. */
export function withApplicationSecrets(ctx: ConvertContext, obj: K8sObject, spec: unknown): unknown {
  if (obj.kind !== 'Application' || !isRecord(spec) || !Array.isArray(spec.passwordCredentials)) return spec;
  const creds = spec.passwordCredentials.map((c: unknown, i: number) => {
    if (!isRecord(c) || !isRecord(c.secretFrom) || !isRecord(c.secretFrom.secret)) return c;
    const path = ['spec', 'passwordCredentials', i, 'secretFrom', 'secret'];
    const { value, error, ...ref } = c.secretFrom.secret;
    if (value !== undefined || error !== undefined) {
      ctx.error(
        obj,
        [...path, value !== undefined ? 'value' : 'error'],
        'set by Gatehouse from the Secret, not in the configuration: give only name and key',
      );
    }
    const out = { ...ref };
    const { name, key } = ref;
    if (typeof name !== 'string' || name === '' || typeof key !== 'string' || key === '') {
      return { ...c, secretFrom: { ...c.secretFrom, secret: out } }; // the identity compiler reports the missing name/key
    }
    if (ctx.isExternalSecret(obj.namespace, name)) {
      return { ...c, secretFrom: { ...c.secretFrom, secret: { ...out, value: secretMarker(obj.namespace, name, 'key', key) } } };
    }
    try {
      const data = readSecret(ctx, obj.namespace, name, path);
      const v = data.data.get(key);
      const got =
        v === undefined || v === ''
          ? { error: `Secret ${obj.namespace}/${name} has no key "${key}" (keys: ${[...data.data.keys()].join(', ') || 'none'})` }
          : { value: v };
      return { ...c, secretFrom: { ...c.secretFrom, secret: { ...out, ...got } } };
    } catch (e) {
      if (!(e instanceof ConvertFailure)) throw e;
      return { ...c, secretFrom: { ...c.secretFrom, secret: { ...out, error: e.message } } };
    }
  });
  return { ...spec, passwordCredentials: creds };
}
