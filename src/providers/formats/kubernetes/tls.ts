/**
 * Certificates from Kubernetes Secrets (type kubernetes.io/tls: `tls.crt`,
 * `tls.key`) as Traefik's kubernetescrd provider reads them:
 *
 * - IngressRoute `spec.tls.secretName` → a `tls.certificates` entry (default store);
 * - TLSStore → `tls.stores`: `default` (in any one namespace) is the store Gatehouse
 *   serves; another name becomes `<ns>-<name>` (kept, and reported as ignored by the
 *   compile step, as Traefik serves only `default`); `defaultCertificate.secretName`
 *   → `defaultCertificate`, `certificates[].secretName` → `tls.certificates` entries
 *   in that store, `defaultGeneratedCert` as is. A `default` TLSStore in several
 *   namespaces: none is used (an error, as Traefik).
 *
 * A Secret is added once (`namespace/name`, the first use wins, as Traefik's
 * tlsConfigs map). The PEM goes inline into the fragment; the TLS compile step
 * checks it (and never shows it). A missing Secret or entry is an issue naming it.
 */
import type { TlsStoreConfig } from '../../../config/tls-schema.js';
import { makeId } from './naming.js';
import { asString, ConvertFailure, isRecord, type ConvertContext, type K8sObject, type Path } from './objects.js';
import { certFromSecret } from './secrets.js';

const DEFAULT_STORE = 'default';

/** The certificate and key of Secret `namespace/name` (kubernetes.io/tls keys); fails with the Secret named. */
function readTlsSecret(ctx: ConvertContext, namespace: string, name: string, path: Path): { certFile: string; keyFile: string } {
  if (ctx.isExternalSecret(namespace, name))
    throw new ConvertFailure(
      path,
      `Secret ${namespace}/${name} is written by an AzureKeyVaultSecret: TLS certificates from Key Vault Secrets are not supported yet (use a kubernetes.io/tls Secret)`,
    );
  const { cert, key } = certFromSecret(ctx, namespace, name, path);
  return { certFile: cert, keyFile: key };
}

/** Add Secret `namespace/name` to `tls.certificates` (once); `stores` undefined = the default store. */
function addSecretCertificate(ctx: ConvertContext, obj: K8sObject, namespace: string, name: string, path: Path, stores?: string[]): void {
  const k = `${namespace}/${name}`;
  if (ctx.tlsSecrets.has(k)) return;
  const pem = readTlsSecret(ctx, namespace, name, path);
  ctx.tlsSecrets.add(k);
  ctx.fragment.tlsCertificates?.push({
    value: { ...pem, ...(stores !== undefined ? { stores } : {}) },
    source: ctx.loc(obj, path),
  });
}

/**
 * IngressRoute `spec.tls`: the certificate of `secretName`, and `store` (only
 * `default` is served). A Secret that cannot be read is an error issue naming it;
 * the routes are still created and still require TLS (Traefik's behaviour).
 */
export function ingressRouteTls(ctx: ConvertContext, obj: K8sObject, tls: Record<string, unknown>): void {
  const secretName = asString(tls.secretName);
  if (secretName !== undefined && secretName !== '') {
    const path: Path = ['spec', 'tls', 'secretName'];
    try {
      addSecretCertificate(ctx, obj, obj.namespace, secretName, path);
    } catch (e) {
      if (!(e instanceof ConvertFailure)) throw e;
      ctx.error(obj, e.path, `TLS certificate not loaded: ${e.message} (the routes still require TLS)`);
    }
  }
  if (isRecord(tls.store)) {
    const name = asString(tls.store.name);
    if (name !== undefined && name !== '' && name !== DEFAULT_STORE)
      ctx.warn(obj, ['spec', 'tls', 'store', 'name'], `TLS store "${name}" is ignored: only the "default" TLSStore is served (as Traefik)`);
  }
}

export function convertTlsStore(ctx: ConvertContext, obj: K8sObject): void {
  const isDefault = obj.name === DEFAULT_STORE;
  const id = isDefault ? DEFAULT_STORE : makeId(obj.namespace, obj.name);
  const spec = ctx.get(obj, ['spec']);
  // Counted before reading anything, as Traefik: a default store that fails still makes the namespaces ambiguous.
  if (isDefault) ctx.defaultStoreNamespaces.push(obj.namespace);
  try {
    if (!isRecord(spec)) throw new ConvertFailure(['spec'], 'expected spec with defaultCertificate, certificates or defaultGeneratedCert');
    ctx.unknownFields(obj, spec, ['spec'], ['defaultCertificate', 'certificates', 'defaultGeneratedCert']);
    const store: Record<string, unknown> = {};
    if (spec.defaultCertificate !== undefined) {
      const path: Path = ['spec', 'defaultCertificate', 'secretName'];
      const name = isRecord(spec.defaultCertificate) ? asString(spec.defaultCertificate.secretName) : undefined;
      if (name === undefined || name === '') throw new ConvertFailure(path, 'expected defaultCertificate: { secretName: <Secret name> }');
      store.defaultCertificate = readTlsSecret(ctx, obj.namespace, name, path);
    }
    if (spec.defaultGeneratedCert !== undefined) {
      if (!isRecord(spec.defaultGeneratedCert))
        throw new ConvertFailure(['spec', 'defaultGeneratedCert'], 'expected { resolver: <name>, domain: { main, sans } }');
      store.defaultGeneratedCert = structuredClone(spec.defaultGeneratedCert);
    }
    if (spec.certificates !== undefined) {
      if (!Array.isArray(spec.certificates))
        throw new ConvertFailure(['spec', 'certificates'], 'expected a list of { secretName: <Secret name> }');
      spec.certificates.forEach((c: unknown, i: number) => {
        const path: Path = ['spec', 'certificates', i, 'secretName'];
        const name = isRecord(c) ? asString(c.secretName) : undefined;
        if (name === undefined || name === '') throw new ConvertFailure(path, 'expected { secretName: <Secret name> }');
        addSecretCertificate(ctx, obj, obj.namespace, name, path, [id]);
      });
    }
    if (isDefault && ctx.defaultStoreNamespaces.length > 1) {
      ctx.error(
        obj,
        [],
        `the default TLSStore is defined in several namespaces (${ctx.defaultStoreNamespaces.join(', ')}): none of them is used (as Traefik)`,
      );
      delete ctx.fragment.tlsStores?.[DEFAULT_STORE];
      return;
    }
    const stores = ctx.fragment.tlsStores;
    if (stores !== undefined) stores[id] = { value: store as TlsStoreConfig, source: ctx.loc(obj, ['spec']) };
  } catch (e) {
    if (!(e instanceof ConvertFailure)) throw e;
    ctx.error(obj, e.path, `TLSStore not created ("${id}"): ${e.message}`);
  }
}
