/**
 * `admissionregistration.k8s.io/v1` ValidatingWebhookConfiguration in the
 * stand-in: the checks the API server makes when one is written (the subset
 * that matters for Gatehouse's manifest: names, sideEffects,
 * admissionReviewVersions, failurePolicy, timeoutSeconds, exactly one of
 * url/service, https only, caBundle as base64), and the webhook targets the
 * stored configurations stand for, with `clientConfig.service` resolved through
 * the Service's Endpoints (or EndpointSlices) as the API server reaches a
 * Service's pods.
 *
 * Not covered: namespaceSelector, objectSelector, matchConditions,
 * reinvocation, the v1beta1 version, MutatingWebhookConfiguration.
 */
import { findResource, type ResourceType } from './resources.js';
import { ApiError, type Obj, type Store } from './store.js';

export const VWC = findResource('admissionregistration.k8s.io', 'v1', 'validatingwebhookconfigurations')!;

export interface WebhookRule {
  apiGroups: string[];
  resources: string[];
  /** Absent: every version. */
  apiVersions?: string[];
  /** Absent: every operation. */
  operations?: string[];
  /** `*` (default), `Namespaced` or `Cluster`. */
  scope?: string;
}

/** Where the API server sends the AdmissionReview: the Service `<name>.<namespace>.svc` on `port` (default 443). */
export interface WebhookService {
  namespace: string;
  name: string;
  path?: string;
  port?: number;
}

export interface WebhookTarget {
  name: string;
  /** An explicit URL (tests may use http:// here; stored configurations must use https://). */
  url?: string;
  service?: WebhookService;
  /** PEM of the CA that signs the webhook's certificate; absent: the system's trusted CAs. */
  caBundle?: string;
  failurePolicy: 'Ignore' | 'Fail';
  timeoutSeconds?: number;
  rules: WebhookRule[];
  /** Extra headers on the call (e.g. authorization for a protected admin API). */
  headers?: Record<string, string>;
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The API server's validation of a ValidatingWebhookConfiguration being created
 * or updated; throws the ApiError it answers (400 for an undecodable caBundle,
 * 422 Invalid listing every field error).
 */
export function validateWebhookConfiguration(o: Obj): void {
  const name = String(isObj(o.metadata) ? o.metadata.name : '');
  const webhooks = Array.isArray(o.webhooks) ? (o.webhooks as unknown[]) : [];
  const errors: string[] = [];
  const seen = new Set<string>();
  webhooks.forEach((raw, i) => {
    const at = `webhooks[${i}]`;
    const w = isObj(raw) ? raw : {};
    const wname = typeof w.name === 'string' ? w.name : '';
    if (wname === '') errors.push(`${at}.name: Required value`);
    else if (wname.split('.').length < 3 || !wname.split('.').every((l) => DNS_LABEL.test(l)))
      errors.push(`${at}.name: Invalid value: "${wname}": should be a domain with at least three segments separated by dots`);
    else if (seen.has(wname)) errors.push(`${at}.name: Duplicate value: "${wname}"`);
    seen.add(wname);
    const versions = strings(w.admissionReviewVersions);
    if (versions.length === 0) errors.push(`${at}.admissionReviewVersions: Required value: must specify one of v1, v1beta1`);
    else if (!versions.some((v) => v === 'v1' || v === 'v1beta1'))
      errors.push(`${at}.admissionReviewVersions: Invalid value: ${JSON.stringify(versions)}: must include at least one of v1, v1beta1`);
    if (w.sideEffects === undefined) errors.push(`${at}.sideEffects: Required value: must specify one of None, NoneOnDryRun`);
    else if (w.sideEffects !== 'None' && w.sideEffects !== 'NoneOnDryRun')
      errors.push(`${at}.sideEffects: Unsupported value: "${String(w.sideEffects)}": supported values: "None", "NoneOnDryRun"`);
    if (w.failurePolicy !== undefined && w.failurePolicy !== 'Ignore' && w.failurePolicy !== 'Fail')
      errors.push(`${at}.failurePolicy: Unsupported value: "${String(w.failurePolicy)}": supported values: "Fail", "Ignore"`);
    if (
      w.timeoutSeconds !== undefined &&
      !(Number.isInteger(w.timeoutSeconds) && Number(w.timeoutSeconds) >= 1 && Number(w.timeoutSeconds) <= 30)
    )
      errors.push(`${at}.timeoutSeconds: Invalid value: ${String(w.timeoutSeconds)}: the timeout value must be between 1 and 30 seconds`);
    const cc = isObj(w.clientConfig) ? w.clientConfig : {};
    const hasUrl = typeof cc.url === 'string' && cc.url !== '';
    const hasService = isObj(cc.service);
    if (hasUrl === hasService) errors.push(`${at}.clientConfig: Required value: exactly one of url or service is required`);
    if (hasUrl) {
      let u: URL | null = null;
      try {
        u = new URL(String(cc.url));
      } catch {
        errors.push(`${at}.clientConfig.url: Invalid value: "${String(cc.url)}": host must be specified`);
      }
      if (u !== null && u.protocol !== 'https:')
        errors.push(`${at}.clientConfig.url: Invalid value: "${String(cc.url)}": 'https' is the only allowed URL scheme`);
    }
    if (hasService) {
      const s = cc.service as Obj;
      if (typeof s.name !== 'string' || s.name === '')
        errors.push(`${at}.clientConfig.service.name: Required value: service name is required`);
      if (typeof s.namespace !== 'string' || s.namespace === '')
        errors.push(`${at}.clientConfig.service.namespace: Required value: service namespace is required`);
      if (s.path !== undefined && !(typeof s.path === 'string' && s.path.startsWith('/')))
        errors.push(`${at}.clientConfig.service.path: Invalid value: "${String(s.path)}": must start with a '/'`);
      if (s.port !== undefined && !(Number.isInteger(s.port) && Number(s.port) >= 1 && Number(s.port) <= 65535))
        errors.push(
          `${at}.clientConfig.service.port: Invalid value: ${String(s.port)}: port is not valid: must be between 1 and 65535, inclusive`,
        );
    }
    // caBundle is a []byte field: JSON carries it as base64, and a value that does not decode never reaches validation.
    if (cc.caBundle !== undefined && !(typeof cc.caBundle === 'string' && cc.caBundle.length % 4 === 0 && BASE64.test(cc.caBundle)))
      throw new ApiError(
        400,
        'BadRequest',
        `ValidatingWebhookConfiguration in version "v1" cannot be handled as a ValidatingWebhookConfiguration: ${at}.clientConfig.caBundle: illegal base64 data`,
      );
  });
  if (errors.length > 0)
    throw new ApiError(
      422,
      'Invalid',
      `ValidatingWebhookConfiguration.admissionregistration.k8s.io "${name}" is invalid: ${errors.length === 1 ? errors[0]! : `[${errors.join(', ')}]`}`,
    );
}

/** The webhooks of every stored ValidatingWebhookConfiguration, in the API server's order (configuration name, then position). */
export function storedTargets(store: Store): WebhookTarget[] {
  const out: WebhookTarget[] = [];
  const configs = store.list(VWC, null).sort((a, b) => String((a.metadata as Obj).name).localeCompare(String((b.metadata as Obj).name)));
  for (const c of configs) {
    for (const raw of Array.isArray(c.webhooks) ? (c.webhooks as unknown[]) : []) {
      if (!isObj(raw)) continue;
      const cc = isObj(raw.clientConfig) ? raw.clientConfig : {};
      const s = isObj(cc.service) ? cc.service : null;
      out.push({
        name: String(raw.name),
        ...(typeof cc.url === 'string' ? { url: cc.url } : {}),
        ...(s !== null
          ? {
              service: {
                namespace: String(s.namespace),
                name: String(s.name),
                ...(typeof s.path === 'string' ? { path: s.path } : {}),
                ...(typeof s.port === 'number' ? { port: s.port } : {}),
              },
            }
          : {}),
        ...(typeof cc.caBundle === 'string' && cc.caBundle !== '' ? { caBundle: Buffer.from(cc.caBundle, 'base64').toString('utf8') } : {}),
        failurePolicy: raw.failurePolicy === 'Ignore' ? 'Ignore' : 'Fail', // v1's default is Fail
        timeoutSeconds: typeof raw.timeoutSeconds === 'number' ? raw.timeoutSeconds : 10,
        rules: (Array.isArray(raw.rules) ? (raw.rules as unknown[]) : []).filter(isObj).map((r) => ({
          apiGroups: strings(r.apiGroups),
          resources: strings(r.resources),
          apiVersions: strings(r.apiVersions),
          operations: strings(r.operations),
          scope: typeof r.scope === 'string' ? r.scope : '*',
        })),
      });
    }
  }
  return out;
}

/** Whether a rule of `t` selects this operation on this resource. */
export function matches(t: WebhookTarget, op: string, r: ResourceType): boolean {
  const any = (list: string[] | undefined, v: string): boolean => list === undefined || list.includes('*') || list.includes(v);
  return t.rules.some(
    (x) =>
      any(x.apiGroups, r.group) &&
      any(x.resources, r.plural) &&
      (x.apiVersions === undefined || x.apiVersions.length === 0 || any(x.apiVersions, r.version)) &&
      (x.operations === undefined || x.operations.length === 0 || any(x.operations, op)) &&
      (x.scope === undefined || x.scope === '*' || (x.scope === 'Namespaced') === r.namespaced),
  );
}

/**
 * A Service's backend as the API server reaches it: the Service port `port`
 * (by number) → its name → the matching port of a ready address in the
 * Service's Endpoints (else its EndpointSlices). Throws with the API server's
 * wording when the Service or its endpoints are missing.
 */
export function resolveService(store: Store, s: WebhookService): { host: string; port: number } {
  const svcType = findResource('', 'v1', 'services')!;
  if (!store.has(svcType, s.namespace, s.name)) throw new Error(`service "${s.name}" not found`);
  const svc = store.get(svcType, s.namespace, s.name);
  const ports = (isObj(svc.spec) && Array.isArray(svc.spec.ports) ? svc.spec.ports : []) as Obj[];
  const want = s.port ?? 443;
  const sp = ports.find((p) => p.port === want);
  if (sp === undefined) throw new Error(`unable to find service port ${want} for service ${s.namespace}/${s.name}`);
  const portName = typeof sp.name === 'string' ? sp.name : '';
  const epType = findResource('', 'v1', 'endpoints')!;
  if (store.has(epType, s.namespace, s.name)) {
    const ep = store.get(epType, s.namespace, s.name);
    for (const sub of (Array.isArray(ep.subsets) ? ep.subsets : []) as Obj[]) {
      const addr = ((Array.isArray(sub.addresses) ? sub.addresses : []) as Obj[])[0];
      const p = ((Array.isArray(sub.ports) ? sub.ports : []) as Obj[]).find((x) => (x.name ?? '') === portName);
      if (addr !== undefined && p !== undefined) return { host: String(addr.ip), port: Number(p.port) };
    }
  }
  const sliceType = findResource('discovery.k8s.io', 'v1', 'endpointslices')!;
  for (const sl of store.list(sliceType, s.namespace)) {
    const labels = (isObj(sl.metadata) && isObj(sl.metadata.labels) ? sl.metadata.labels : {}) as Obj;
    if (labels['kubernetes.io/service-name'] !== s.name) continue;
    const p = ((Array.isArray(sl.ports) ? sl.ports : []) as Obj[]).find((x) => (x.name ?? '') === portName);
    const e = ((Array.isArray(sl.endpoints) ? sl.endpoints : []) as Obj[]).find(
      (x) => !isObj(x.conditions) || x.conditions.ready !== false,
    );
    const addr = e !== undefined ? strings(e.addresses)[0] : undefined;
    if (p !== undefined && addr !== undefined) return { host: addr, port: Number(p.port) };
  }
  throw new Error(`no endpoints available for service "${s.name}"`);
}
