/**
 * The git provider's webhook (`POST /api/providers/git/hook`): who may ask for
 * an immediate reconcile, and each delivery once.
 *
 * - GitHub: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the body with
 *   the secret. A delivery signed only with SHA-1 (`X-Hub-Signature`) is
 *   refused (Flux silently falls back to it).
 * - GitLab: `X-Gitlab-Token: <secret>`, compared in constant time (Flux
 *   compares with `!=`).
 * - Generic: `X-Signature: sha256=<hex>`, HMAC-SHA256 of the body.
 *
 * Delivery ids (`X-GitHub-Delivery`, `X-Gitlab-Event-UUID`, `X-Delivery-Id`)
 * seen in the last hour are answered once; a replay is ignored.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const MAX_WEBHOOK_BODY = 1024 * 1024;

export type WebhookVerdict =
  { ok: true; source: 'github' | 'gitlab' | 'generic'; deliveryId: string | null } | { ok: false; status: 400 | 401; reason: string };

type Headers = Record<string, string | string[] | undefined>;

function one(h: Headers, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Constant-time equality of two byte strings (different lengths compare unequal without an early exit on content). */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

function hmacMatches(secret: Buffer, body: Buffer, header: string, name: string): WebhookVerdict | true {
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (m === null) return { ok: false, status: 400, reason: `${name}: expected "sha256=" and 64 hex digits` };
  const want = createHmac('sha256', secret).update(body).digest();
  return safeEqual(Buffer.from(m[1] as string, 'hex'), want)
    ? true
    : { ok: false, status: 401, reason: `${name}: the signature does not match` };
}

export function verifyWebhook(secret: Buffer, headers: Headers, body: Buffer): WebhookVerdict {
  const gh256 = one(headers, 'x-hub-signature-256');
  const gh1 = one(headers, 'x-hub-signature');
  const gitlab = one(headers, 'x-gitlab-token');
  const generic = one(headers, 'x-signature');
  if (gh256 !== undefined) {
    const r = hmacMatches(secret, body, gh256, 'X-Hub-Signature-256');
    return r === true ? { ok: true, source: 'github', deliveryId: one(headers, 'x-github-delivery') ?? null } : r;
  }
  if (gh1 !== undefined)
    return {
      ok: false,
      status: 401,
      reason:
        'X-Hub-Signature (SHA-1) is refused: only X-Hub-Signature-256 is accepted (GitHub sends it whenever the webhook has a secret)',
    };
  if (gitlab !== undefined) {
    return safeEqual(Buffer.from(gitlab, 'utf8'), secret)
      ? { ok: true, source: 'gitlab', deliveryId: one(headers, 'x-gitlab-event-uuid') ?? one(headers, 'idempotency-key') ?? null }
      : { ok: false, status: 401, reason: 'X-Gitlab-Token does not match' };
  }
  if (generic !== undefined) {
    const r = hmacMatches(secret, body, generic, 'X-Signature');
    return r === true ? { ok: true, source: 'generic', deliveryId: one(headers, 'x-delivery-id') ?? null } : r;
  }
  return {
    ok: false,
    status: 401,
    reason: 'no signature: send X-Hub-Signature-256 (GitHub), X-Gitlab-Token (GitLab) or X-Signature: sha256=… (generic)',
  };
}

/** Delivery ids seen recently (bounded): a replay is recognised for `ttlMs`. */
export class DeliveryLog {
  readonly #seen = new Map<string, number>();
  constructor(
    private readonly max = 10_000,
    private readonly ttlMs = 3_600_000,
  ) {}
  /** True the first time an id is seen (within the TTL); false for a replay. */
  first(id: string, now = Date.now()): boolean {
    const at = this.#seen.get(id);
    if (at !== undefined && now - at < this.ttlMs) return false;
    this.#seen.delete(id);
    this.#seen.set(id, now);
    while (this.#seen.size > this.max) this.#seen.delete(this.#seen.keys().next().value as string);
    return true;
  }
}
