/**
 * akv2k8s's `AzureKeyVaultSecret` (apiVersion `spv.no/v2beta1`, `spv.no/v2alpha1`,
 * `spv.no/v1`, `spv.no/v1alpha1`; also the `keyvault.azure.spv.no` group of its
 * newer charts), exactly as akv2k8s users write it:
 *
 *   spec.vault.name, spec.vault.object.{name, type, version, contentType},
 *   spec.output.secret.{name, dataKey, type, chainOrder}, spec.output.transform
 *   (`transforms` in v1alpha1): trim | base64encode | base64decode
 *
 * Each becomes a Kubernetes-style Secret named `output.secret.name` in the
 * object's namespace, whose data is read from Key Vault when the
 * configuration is compiled (src/providers/formats/kubernetes/external-secrets.ts).
 * The object itself is passed on as a resource of kind AzureKeyVaultSecret with
 * a normalised spec (no value), so the primary knows what to fetch.
 */
import { asString, isRecord, type ConvertContext, type K8sObject } from './objects.js';
import { AKV_KIND, type AkvSecretSpec, type AkvTransform } from './external-secrets.js';

export const AKV_GROUPS: ReadonlySet<string> = new Set(['spv.no', 'keyvault.azure.spv.no']);
const AKV_VERSIONS = new Set(['v1alpha1', 'v1', 'v2alpha1', 'v2beta1']);
const VAULT_NAME = /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;
const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;
const SECRET_VERSION = /^[0-9a-fA-F]{32}$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DATA_KEY = /^[-._a-zA-Z0-9]{1,253}$/;
const TRANSFORMS: readonly AkvTransform[] = ['trim', 'base64encode', 'base64decode'];
const CONTENT_TYPES = ['application/x-json', 'application/x-yaml'] as const;
const TLS = 'kubernetes.io/tls';

export function isAzureKeyVaultSecret(obj: K8sObject): boolean {
  return AKV_GROUPS.has(obj.group) && obj.kind === AKV_KIND;
}

/** Validate one AzureKeyVaultSecret; on success register its output Secret and pass it on as a resource. */
export function convertAzureKeyVaultSecret(ctx: ConvertContext, obj: K8sObject): void {
  const version = obj.apiVersion.slice(obj.apiVersion.indexOf('/') + 1);
  if (!AKV_VERSIONS.has(version)) {
    ctx.error(
      obj,
      ['apiVersion'],
      `${obj.apiVersion} is not an akv2k8s version: expected spv.no/v2beta1, spv.no/v2alpha1, spv.no/v1 or spv.no/v1alpha1`,
    );
    return;
  }
  const fail = (path: (string | number)[], message: string): void => ctx.error(obj, path, `${obj.label} ignored: ${message}`);
  const vault = ctx.get(obj, ['spec', 'vault']);
  if (!isRecord(vault)) return fail(['spec', 'vault'], 'spec.vault is required: { name, object: { name, type } }');
  const vaultName = asString(vault.name);
  if (vaultName === undefined || !VAULT_NAME.test(vaultName))
    return fail(['spec', 'vault', 'name'], 'expected the name of a Key Vault (3-24 letters, digits and dashes, starting with a letter)');
  if (vault.azureIdentity !== undefined)
    ctx.warn(
      obj,
      ['spec', 'vault', 'azureIdentity'],
      'azureIdentity is ignored: Gatehouse reads Key Vault with --secrets.azurekeyvault.clientid',
    );
  const object = vault.object;
  if (!isRecord(object)) return fail(['spec', 'vault', 'object'], 'spec.vault.object is required: { name, type }');
  const objectName = asString(object.name);
  if (objectName === undefined || !SECRET_NAME.test(objectName))
    return fail(['spec', 'vault', 'object', 'name'], 'expected the name of a Key Vault secret (1-127 letters, digits and dashes)');
  const type = asString(object.type);
  if (type === 'key')
    return fail(
      ['spec', 'vault', 'object', 'type'],
      'object type "key" is not supported: Key Vault never exports the private part of a key (only its public parameters), so it cannot become a usable Secret; store the value as a secret, or use a certificate whose key is exportable (type: certificate)',
    );
  if (type !== 'secret' && type !== 'multi-key-value-secret' && type !== 'certificate')
    return fail(
      ['spec', 'vault', 'object', 'type'],
      `expected secret, multi-key-value-secret or certificate, got ${JSON.stringify(object.type)}`,
    );
  const objectVersion = object.version === undefined || object.version === '' ? '' : asString(object.version);
  if (objectVersion === undefined || (objectVersion !== '' && !SECRET_VERSION.test(objectVersion)))
    return fail(
      ['spec', 'vault', 'object', 'version'],
      'expected a Key Vault secret version (32 hex digits), or no version for the latest',
    );
  let contentType: AkvSecretSpec['contentType'];
  if (type === 'multi-key-value-secret') {
    const ct = asString(object.contentType);
    if (ct === undefined || !(CONTENT_TYPES as readonly string[]).includes(ct))
      return fail(
        ['spec', 'vault', 'object', 'contentType'],
        'a multi-key-value-secret needs contentType application/x-json or application/x-yaml',
      );
    contentType = ct as AkvSecretSpec['contentType'];
  } else if (object.contentType !== undefined) {
    ctx.warn(obj, ['spec', 'vault', 'object', 'contentType'], 'contentType is only used with type multi-key-value-secret: ignored');
  }

  const output = ctx.get(obj, ['spec', 'output']);
  if (!isRecord(output) || !isRecord(output.secret)) {
    if (isRecord(output) && output.configMap !== undefined)
      return fail(['spec', 'output', 'configMap'], 'output.configMap is not supported: Gatehouse has no ConfigMaps; use output.secret');
    return fail(
      ['spec', 'output', 'secret'],
      'spec.output.secret is required: { name, dataKey } (Gatehouse reads secrets only through Secrets)',
    );
  }
  const secretName = asString(output.secret.name);
  if (secretName === undefined || secretName.length > 253 || !DNS_SUBDOMAIN.test(secretName))
    return fail(
      ['spec', 'output', 'secret', 'name'],
      'expected the name of the Secret to create (a DNS subdomain: lower-case letters, digits, "-" and ".")',
    );
  let dataKey: string | undefined;
  if (type === 'certificate') {
    if (output.secret.dataKey !== undefined)
      ctx.warn(obj, ['spec', 'output', 'secret', 'dataKey'], 'dataKey is ignored for a certificate: it writes tls.crt and tls.key');
  } else if (type === 'secret') {
    dataKey = asString(output.secret.dataKey);
    if (dataKey === undefined || !DATA_KEY.test(dataKey))
      return fail(
        ['spec', 'output', 'secret', 'dataKey'],
        'a secret needs output.secret.dataKey: the key of the Secret that holds the value (letters, digits, "-", "_", ".")',
      );
  } else if (output.secret.dataKey !== undefined) {
    ctx.warn(
      obj,
      ['spec', 'output', 'secret', 'dataKey'],
      'dataKey is ignored for multi-key-value-secret: every key of the value becomes a key of the Secret',
    );
  }
  const secretType = output.secret.type === undefined ? (type === 'certificate' ? TLS : 'Opaque') : asString(output.secret.type);
  if (secretType === undefined)
    return fail(['spec', 'output', 'secret', 'type'], 'expected a Secret type such as Opaque or kubernetes.io/basic-auth');
  if (type === 'certificate' && secretType !== TLS)
    return fail(
      ['spec', 'output', 'secret', 'type'],
      `a certificate writes a ${TLS} Secret (tls.crt and tls.key): remove output.secret.type or set it to ${TLS}`,
    );
  let chainOrder: AkvSecretSpec['chainOrder'];
  if (output.secret.chainOrder !== undefined) {
    if (type !== 'certificate')
      ctx.warn(obj, ['spec', 'output', 'secret', 'chainOrder'], 'chainOrder applies to certificates only: ignored');
    else if (output.secret.chainOrder !== 'ensureserverfirst')
      return fail(
        ['spec', 'output', 'secret', 'chainOrder'],
        `expected ensureserverfirst, got ${JSON.stringify(output.secret.chainOrder)}`,
      );
    else chainOrder = 'ensureserverfirst';
  }
  const tfield = version === 'v1alpha1' ? 'transforms' : 'transform';
  const other = tfield === 'transform' ? 'transforms' : 'transform';
  if (output[other] !== undefined && output[tfield] === undefined)
    ctx.warn(obj, ['spec', 'output', other], `${obj.apiVersion} spells it output.${tfield}: output.${other} is ignored`);
  const raw = output[tfield] ?? [];
  if (!Array.isArray(raw)) return fail(['spec', 'output', tfield], `expected a list of ${TRANSFORMS.join(', ')}`);
  const transforms: AkvTransform[] = [];
  for (const [i, t] of raw.entries()) {
    if (typeof t !== 'string' || !(TRANSFORMS as readonly string[]).includes(t))
      return fail(['spec', 'output', tfield, i], `unknown transform ${JSON.stringify(t)}: expected ${TRANSFORMS.join(', ')}`);
    transforms.push(t as AkvTransform);
  }
  if (type === 'certificate' && transforms.length > 0) {
    ctx.warn(obj, ['spec', 'output', tfield], 'transforms are ignored for a certificate');
    transforms.length = 0;
  }
  if (ctx.secret(obj.namespace, secretName) !== undefined)
    return fail(
      ['spec', 'output', 'secret', 'name'],
      `a v1 Secret ${obj.namespace}/${secretName} exists too: give the output another name`,
    );
  const taken = ctx.externalSecrets.get(`${obj.namespace}/${secretName}`);
  if (taken !== undefined)
    return fail(
      ['spec', 'output', 'secret', 'name'],
      `AzureKeyVaultSecret ${obj.namespace}/${taken.akvName} already writes Secret ${obj.namespace}/${secretName}`,
    );

  const spec: AkvSecretSpec = {
    vault: vaultName,
    object: objectName,
    version: objectVersion.toLowerCase(),
    type,
    ...(contentType !== undefined ? { contentType } : {}),
    secretName,
    ...(dataKey !== undefined ? { dataKey } : {}),
    secretType,
    transforms,
    ...(chainOrder !== undefined ? { chainOrder } : {}),
    akvName: obj.name,
  };
  ctx.externalSecrets.set(`${obj.namespace}/${secretName}`, spec);
  ctx.fragment.resources.push({ kind: AKV_KIND, name: obj.name, namespace: obj.namespace, spec, source: ctx.loc(obj, []) });
}
