/**
 * Validating admission webhooks in the stand-in, as the API server calls them
 * (https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/).
 * Two sources of webhooks: the ValidatingWebhookConfigurations stored in the
 * stand-in (`kubectl apply` one; webhook-config.ts validates it and resolves
 * `clientConfig.service` through the Service's Endpoints), and targets a test
 * registers directly (`register`, which also allows plain http:// URLs).
 *
 * On CREATE and UPDATE of a matching resource the stand-in POSTs an
 * admission.k8s.io/v1 AdmissionReview to the webhook (`?timeout=<n>s` added, as
 * the API server does) and waits up to timeoutSeconds. HTTPS is verified as the
 * API server verifies it: against the caBundle (the system's CAs without one),
 * for the name `<service>.<namespace>.svc` (sent as SNI) or the URL's host.
 * `allowed: false` → the request fails with the webhook's status (code, message
 * prefixed `admission webhook "<name>" denied the request: `); a webhook that
 * cannot be called (refused, timeout, a certificate that does not verify, a bad
 * answer) → failurePolicy Fail refuses (500, `failed calling webhook …`),
 * Ignore lets the object in (and `failures` records why).
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import type { ResourceType } from './resources.js';
import { ApiError, type Obj, type Store } from './store.js';
import { matches, resolveService, storedTargets, VWC, type WebhookTarget } from './webhook-config.js';

export type { WebhookTarget, WebhookRule, WebhookService } from './webhook-config.js';

/** Largest webhook answer read (the API server also bounds it). */
const MAX_ANSWER = 3 * 1024 * 1024;

export class AdmissionWebhooks {
  readonly #targets: WebhookTarget[] = [];
  readonly #store: Store | null;
  /** Every call made: webhook name → count. */
  readonly calls = new Map<string, number>();
  /** Calls that failed (the object was then refused or, with Ignore, let in): webhook name and the error. */
  readonly failures: Array<{ webhook: string; error: string }> = [];

  constructor(store?: Store) {
    this.#store = store ?? null;
  }

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
    // Webhook configurations are never sent to webhooks (a broken webhook could not be fixed).
    if (r === VWC) return;
    const stored = this.#store !== null ? storedTargets(this.#store) : [];
    for (const t of [...stored, ...this.#targets]) {
      if (!matches(t, op, r)) continue;
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
      const timeoutSeconds = t.timeoutSeconds ?? 10;
      let shown = t.url ?? '';
      let answer: Obj;
      try {
        const where = this.#where(t, timeoutSeconds);
        shown = where.shown;
        answer = await call(t, where, timeoutSeconds * 1000, JSON.stringify(review));
      } catch (err) {
        const error = (err as Error).message;
        this.failures.push({ webhook: t.name, error });
        if (t.failurePolicy === 'Ignore') continue;
        throw new ApiError(
          500,
          'InternalError',
          `Internal error occurred: failed calling webhook "${t.name}": failed to call webhook: Post "${shown}": ${error}`,
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

  /** Where to connect, the name to verify, and the URL as the API server prints it. */
  #where(t: WebhookTarget, timeoutSeconds: number): Where {
    if (t.service !== undefined) {
      const s = t.service;
      const host = `${s.name}.${s.namespace}.svc`;
      const port = s.port ?? 443;
      const url = new URL(`https://${host}:${port}${s.path ?? '/'}`);
      url.searchParams.set('timeout', `${timeoutSeconds}s`);
      // As the API server prints it: the port always written, even 443.
      const shown = `https://${host}:${port}${url.pathname}${url.search}`;
      if (this.#store === null) throw new Error(`no store to resolve service "${s.name}"`);
      const backend = resolveService(this.#store, s);
      return { https: true, host: backend.host, port: backend.port, path: url.pathname + url.search, servername: host, shown };
    }
    const url = new URL(t.url ?? '');
    url.searchParams.set('timeout', `${timeoutSeconds}s`);
    const https = url.protocol === 'https:';
    return {
      https,
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || (https ? 443 : 80)),
      path: url.pathname + url.search,
      servername: url.hostname,
      shown: url.toString(),
    };
  }
}

interface Where {
  https: boolean;
  host: string;
  port: number;
  path: string;
  /** The name the certificate must be valid for (and the SNI, unless it is an IP address). */
  servername: string;
  shown: string;
}

/** Node's certificate errors in the words of Go's crypto/x509, which the API server prints. */
function tlsMessage(err: NodeJS.ErrnoException): string {
  const code = err.code ?? '';
  const unknownCa = [
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'UNABLE_TO_GET_ISSUER_CERT',
    'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'CERT_SIGNATURE_FAILURE',
  ];
  if (unknownCa.includes(code)) return `tls: failed to verify certificate: x509: certificate signed by unknown authority (${code})`;
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return `tls: failed to verify certificate: x509: certificate has expired or is not yet valid (${code})`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `tls: failed to verify certificate: x509: ${err.message} (${code})`;
  return err.message;
}

function call(t: WebhookTarget, w: Where, timeout: number, body: string): Promise<Obj> {
  const isIp = /^[\d.]+$|:/.test(w.servername);
  return new Promise((resolve, reject) => {
    const options = {
      host: w.host,
      port: w.port,
      path: w.path,
      method: 'POST',
      agent: false as const,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...t.headers },
      timeout,
    };
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
        if (n > MAX_ANSWER) {
          res.destroy(new Error(`the webhook answer is larger than ${MAX_ANSWER} bytes`));
          return;
        }
        chunks.push(c);
      });
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
    };
    const req = w.https
      ? httpsRequest(
          {
            ...options,
            ...(isIp ? {} : { servername: w.servername }),
            // The name verified is the webhook's, not the address connected to.
            checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(w.servername, cert),
            ...(t.caBundle !== undefined ? { ca: t.caBundle } : {}),
          },
          onResponse,
        )
      : httpRequest(options, onResponse);
    req.on('timeout', () => req.destroy(new Error(`context deadline exceeded (${timeout} ms)`)));
    req.on('error', (err: NodeJS.ErrnoException) => reject(new Error(tlsMessage(err))));
    req.end(body);
  });
}
