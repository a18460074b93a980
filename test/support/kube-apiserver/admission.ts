/**
 * Validating admission webhooks in the stand-in, as the API server calls them
 * (https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/):
 * a test registers a ValidatingWebhookConfiguration-like target; on CREATE and
 * UPDATE of a matching resource the stand-in POSTs an admission.k8s.io/v1
 * AdmissionReview to its URL (HTTP or HTTPS with caBundle) and waits up to
 * timeoutSeconds. `allowed: false` → the request fails with the webhook's
 * status (code, message prefixed `admission webhook "<name>" denied the
 * request: `); a webhook that cannot be called → failurePolicy Fail refuses
 * (500), Ignore lets the object in.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ResourceType } from './resources.js';
import { ApiError, type Obj } from './store.js';

export interface WebhookTarget {
  name: string;
  url: string;
  /** PEM of the CA that signs the webhook's certificate (https URLs). */
  caBundle?: string;
  failurePolicy: 'Ignore' | 'Fail';
  timeoutSeconds?: number;
  /** Matching rules: API groups and plural resources ('*' matches all). */
  rules: Array<{ apiGroups: string[]; resources: string[] }>;
  /** Extra headers on the call (e.g. authorization for a protected admin API). */
  headers?: Record<string, string>;
}

export class AdmissionWebhooks {
  readonly #targets: WebhookTarget[] = [];
  /** Every call made: webhook name → count. */
  readonly calls = new Map<string, number>();

  register(t: WebhookTarget): void {
    this.unregister(t.name);
    this.#targets.push(t);
  }
  unregister(name: string): void {
    const i = this.#targets.findIndex((t) => t.name === name);
    if (i >= 0) this.#targets.splice(i, 1);
  }

  /** Run every matching webhook; throws the ApiError the API server would answer. */
  async review(op: 'CREATE' | 'UPDATE', r: ResourceType, namespace: string, object: Obj, oldObject: Obj | null): Promise<void> {
    for (const t of this.#targets) {
      const hit = t.rules.some(
        (x) =>
          (x.apiGroups.includes('*') || x.apiGroups.includes(r.group)) && (x.resources.includes('*') || x.resources.includes(r.plural)),
      );
      if (!hit) continue;
      this.calls.set(t.name, (this.calls.get(t.name) ?? 0) + 1);
      const meta = (object.metadata ?? {}) as Obj;
      const review = {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: randomUUID(),
          kind: { group: r.group, version: r.version, kind: r.kind },
          resource: { group: r.group, version: r.version, resource: r.plural },
          operation: op,
          namespace,
          name: meta.name,
          object,
          oldObject,
          dryRun: false,
          userInfo: { username: 'tester' },
        },
      };
      let answer: Obj;
      try {
        answer = await call(t, JSON.stringify(review));
      } catch (err) {
        if (t.failurePolicy === 'Ignore') continue;
        throw new ApiError(
          500,
          'InternalError',
          `Internal error occurred: failed calling webhook "${t.name}": failed to call webhook: Post "${t.url}": ${(err as Error).message}`,
        );
      }
      const res = (answer.response ?? {}) as Obj;
      if (res.uid !== review.request.uid)
        throw new ApiError(500, 'InternalError', `webhook "${t.name}" answered for uid ${String(res.uid)}, expected ${review.request.uid}`);
      if (res.allowed === true) continue;
      const st = (res.status ?? {}) as Obj;
      const code = typeof st.code === 'number' && st.code >= 400 ? st.code : 400;
      throw new ApiError(code, 'BadRequest', `admission webhook "${t.name}" denied the request: ${String(st.message ?? '')}`);
    }
  }
}

function call(t: WebhookTarget, body: string): Promise<Obj> {
  const url = new URL(t.url);
  const timeout = (t.timeoutSeconds ?? 10) * 1000;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...t.headers },
        timeout,
        ...(t.caBundle !== undefined ? { ca: t.caBundle } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode !== 200) {
            reject(new Error(`the webhook answered ${res.statusCode}`));
            return;
          }
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Obj);
          } catch {
            reject(new Error('the webhook answer is not JSON'));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`context deadline exceeded (${timeout} ms)`)));
    req.on('error', reject);
    req.end(body);
  });
}
