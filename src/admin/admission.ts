/**
 * The validating admission webhook, `POST /api/admission/validate`
 * (docs/kubernetes.md, "Admission webhook"): an `admission.k8s.io/v1`
 * AdmissionReview for IngressRoute, Middleware, TraefikService,
 * ServersTransport (both Traefik API groups) and the gatehouse.dev kinds is
 * answered with the verdict of the same translation (`fromKubernetesObjects`)
 * and the same compile step the configuration watcher runs: the object under
 * review replaces its version in the configuration in force, and an error
 * the compile reports for that object refuses it, with the text
 * `gatehouse check` prints for it. There is no second validator.
 *
 * The HTTP side (body cap, deadline, status codes) runs where the request
 * arrives; the verdict is computed where the configuration watcher lives
 * (the primary), behind `AdmissionReviewer`.
 */
import { sendJson } from '../http/answers.js';
import type { RequestContext } from '../http/exchange.js';
import { formatIssue, type ConfigIssue } from '../errors.js';
import type { ConfigFragment, Item, SourceDocument } from '../config/model.js';
import type { Snapshot } from '../config/runtime.js';
import { BodyError, readBody } from '../identity/read-body.js';
import { fromKubernetesObjects, type KubernetesConvertOptions } from '../providers/formats/kubernetes/convert.js';
import { referencedSecrets } from '../providers/kubernetes/secret-refs.js';

/** Largest AdmissionReview accepted (the API server's objects are at most ~1.5 MiB; ours are small). */
export const MAX_ADMISSION_BODY = 1024 * 1024;
/** The whole answer (body read and verdict) within this time; the API server's own timeout is shorter (timeoutSeconds). */
export const ADMISSION_DEADLINE_MS = 10_000;

/** The groups and kinds the webhook judges; anything else is allowed untouched. */
export const TRAEFIK_GROUPS: readonly string[] = ['traefik.io', 'traefik.containo.us'];
export const TRAEFIK_KINDS: readonly string[] = ['IngressRoute', 'Middleware', 'TraefikService', 'ServersTransport'];
export const GATEHOUSE_GROUP = 'gatehouse.dev';

/** The part of an AdmissionReview's `request` the webhook reads. */
export interface AdmissionRequest {
  readonly uid: string;
  readonly kind: { readonly group: string; readonly version: string; readonly kind: string };
  readonly operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  readonly namespace?: string;
  readonly name?: string;
  readonly object?: unknown;
}

export interface AdmissionVerdict {
  readonly allowed: boolean;
  /** On refusal: the HTTP-like code and the message kubectl shows. */
  readonly code?: number;
  readonly message?: string;
  readonly warnings: readonly string[];
}

/** Computes the verdict (in the primary). */
export type AdmissionReviewer = (request: AdmissionRequest) => Promise<AdmissionVerdict>;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The request of an `admission.k8s.io/v1` AdmissionReview, or why it is not one. */
export function parseAdmissionReview(body: Buffer): AdmissionRequest | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return { error: 'the body is not JSON: expected an admission.k8s.io/v1 AdmissionReview' };
  }
  if (!isRecord(value) || value.kind !== 'AdmissionReview')
    return { error: 'expected kind: AdmissionReview (apiVersion admission.k8s.io/v1)' };
  if (value.apiVersion !== 'admission.k8s.io/v1')
    return { error: `unsupported apiVersion ${JSON.stringify(value.apiVersion)}: expected admission.k8s.io/v1` };
  const r = value.request;
  if (!isRecord(r)) return { error: 'expected a request object' };
  if (typeof r.uid !== 'string' || r.uid === '') return { error: 'expected request.uid' };
  const k = r.kind;
  if (!isRecord(k) || typeof k.kind !== 'string' || typeof k.group !== 'string' || typeof k.version !== 'string')
    return { error: 'expected request.kind { group, version, kind }' };
  const op = r.operation;
  if (op !== 'CREATE' && op !== 'UPDATE' && op !== 'DELETE' && op !== 'CONNECT')
    return { error: `unknown request.operation ${JSON.stringify(op)}: expected CREATE, UPDATE, DELETE or CONNECT` };
  if ((op === 'CREATE' || op === 'UPDATE') && !isRecord(r.object)) return { error: `request.object is required for ${op}` };
  return {
    uid: r.uid,
    kind: { group: k.group, version: k.version, kind: k.kind },
    operation: op,
    ...(typeof r.namespace === 'string' ? { namespace: r.namespace } : {}),
    ...(typeof r.name === 'string' ? { name: r.name } : {}),
    ...(r.object !== undefined ? { object: r.object } : {}),
  };
}

/** The AdmissionReview answered for `uid`. */
export function admissionResponse(uid: string, v: AdmissionVerdict): Record<string, unknown> {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: {
      uid,
      allowed: v.allowed,
      ...(v.allowed ? {} : { status: { code: v.code ?? 400, message: v.message ?? 'refused' } }),
      ...(v.warnings.length > 0 ? { warnings: v.warnings } : {}),
    },
  };
}

export function isReviewedKind(group: string, kind: string): boolean {
  return group === GATEHOUSE_GROUP || (TRAEFIK_GROUPS.includes(group) && TRAEFIK_KINDS.includes(kind));
}

export interface AdmissionValidatorDeps {
  /**
   * Raw core objects the translation resolves against, in `namespace`: its
   * Services, EndpointSlices and Endpoints, and the Secrets named (`ns/name`).
   * Empty without an API server (objects from files).
   */
  coreObjects(namespace: string, secrets: readonly string[]): Promise<readonly unknown[]>;
  /**
   * Compile the configuration in force (every provider's last message, as the
   * watcher does) with the `kubernetescrd` provider's fragments replaced by
   * `edit(fragments)`; a trial: nothing is kept, logged or served.
   */
  trial(edit: (fragments: readonly ConfigFragment[]) => ConfigFragment[]): Snapshot;
  /** The API server's address, as the provider names its documents: `Kind/namespace/name (server)`. */
  server: string;
  /** The provider's translation options (allowCrossNamespace, …). */
  convert: KubernetesConvertOptions;
}

/** The fragment with (`keep` true) or without (false) what came from `file`: the object under review, or the rest. */
function fromFile(f: ConfigFragment, file: string, keep: boolean): ConfigFragment {
  const pick = <T>(items: Record<string, Item<T>>): Record<string, Item<T>> => {
    const out = Object.create(null) as Record<string, Item<T>>;
    for (const [k, v] of Object.entries(items)) if ((v.source.file === file) === keep) out[k] = v;
    return out;
  };
  return {
    ...f,
    routers: pick(f.routers),
    middlewares: pick(f.middlewares),
    services: pick(f.services),
    serversTransports: pick(f.serversTransports),
    tlsOptions: pick(f.tlsOptions),
    resources: f.resources.filter((r) => (r.source.file === file) === keep),
    issues: f.issues.filter((i) => (i.file === file) === keep),
  };
}

const doc = (file: string, index: number, value: unknown): SourceDocument => ({ file, index, value, lineOf: () => undefined });

/** The verdict on one AdmissionRequest: the object through the provider's translation and the watcher's compile step. */
export function createAdmissionValidator(deps: AdmissionValidatorDeps): AdmissionReviewer {
  return async (req) => {
    const allow: AdmissionVerdict = { allowed: true, warnings: [] };
    if (req.operation === 'DELETE' || req.operation === 'CONNECT') return allow;
    if (!isReviewedKind(req.kind.group, req.kind.kind) || !isRecord(req.object)) return allow;
    const object = structuredClone(req.object);
    const meta = isRecord(object.metadata) ? object.metadata : (object.metadata = {});
    const namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : (req.namespace ?? 'default');
    meta.namespace = namespace;
    const name = typeof meta.name === 'string' && meta.name !== '' ? meta.name : (req.name ?? '');
    const kind = typeof object.kind === 'string' ? object.kind : req.kind.kind;
    // Named as the kubernetescrd provider names its documents, so every message reads as the gateway reports it.
    const file = `${kind}/${namespace}/${name} (${deps.server})`;
    const secrets = [...referencedSecrets([object as never])];
    const core = await deps.coreObjects(namespace, secrets);
    const docs = [...core.map((o, i) => doc(`(core object ${i})`, i + 1, o)), doc(file, 0, object)];
    const fresh = fromFile(fromKubernetesObjects(docs, deps.convert), file, true);
    const snap = deps.trial((current) => [...current.map((f) => fromFile(f, file, false)), fresh]);
    const mine = snap.issues.filter((i: ConfigIssue) => i.file === file);
    const errors = mine.filter((i) => i.severity !== 'warning').map(formatIssue);
    const warnings = mine.filter((i) => i.severity === 'warning').map(formatIssue);
    if (errors.length === 0) return { allowed: true, warnings };
    return { allowed: false, code: 400, message: errors.join('; '), warnings };
  };
}

/**
 * `POST /api/admission/validate` where the request arrives: method, content
 * type, body cap and deadline here; the verdict from `review` (null: the
 * webhook is not wired in this process).
 */
export function admissionHandler(ctx: RequestContext, review: AdmissionReviewer | null): void {
  if (ctx.method !== 'POST') {
    sendJson(ctx, 405, { message: 'the admission webhook takes POST (an admission.k8s.io/v1 AdmissionReview)' }, { allow: 'POST' });
    return;
  }
  if (review === null) {
    sendJson(ctx, 404, { message: 'the admission webhook is not available in this process' });
    return;
  }
  const type = String(ctx.req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (type !== 'application/json') {
    sendJson(ctx, 415, { message: `content type ${JSON.stringify(type)} is not accepted: expected application/json` });
    return;
  }
  const tooLarge = `the body is larger than ${MAX_ADMISSION_BODY} bytes`;
  if (Number(ctx.req.headers['content-length'] ?? '0') > MAX_ADMISSION_BODY) {
    sendJson(ctx, 413, { message: tooLarge });
    return;
  }
  const started = Date.now();
  readBody(ctx.body, MAX_ADMISSION_BODY, ADMISSION_DEADLINE_MS).then(
    (body) => {
      const req = parseAdmissionReview(body);
      if ('error' in req) {
        sendJson(ctx, 400, { message: `malformed AdmissionReview: ${req.error}` });
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), Math.max(0, ADMISSION_DEADLINE_MS - (Date.now() - started)));
        timer.unref();
      });
      Promise.race([review(req), deadline]).then(
        (v) => {
          clearTimeout(timer);
          if (v === 'timeout') sendJson(ctx, 504, { message: `no verdict within ${ADMISSION_DEADLINE_MS} ms` });
          else sendJson(ctx, 200, admissionResponse(req.uid, v));
        },
        (err: unknown) => {
          clearTimeout(timer);
          sendJson(ctx, 503, { message: `the review could not be made: ${err instanceof Error ? err.message : String(err)}` });
        },
      );
    },
    (err: unknown) => {
      const reason = err instanceof BodyError ? err.reason : 'aborted';
      if (reason === 'too-large') sendJson(ctx, 413, { message: tooLarge });
      else sendJson(ctx, 400, { message: `the body could not be read (${reason})` });
    },
  );
}
