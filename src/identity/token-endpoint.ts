/**
 * The client-credentials token endpoint (`/{tenant}/oauth2/v2.0/token`, and the
 * v1 `/{tenant}/oauth2/token` with `resource=`): client authentication by
 * secret (form or HTTP Basic) or by private_key_jwt assertion, scope → API app,
 * granted app roles → `roles`, RS256 access token in Azure AD's v1/v2 shape.
 */
import { createSign, randomBytes } from 'node:crypto';
import type { RequestContext } from '../http/exchange.js';
import { sendJson } from '../http/answers.js';
import type { Logger } from '../log.js';
import { parseCompact, verifySignature } from '../jose/jws.js';
import { aadError, shown } from './aad-errors.js';
import { readBody, BodyError } from './read-body.js';
import type { ClientFailureLimiter } from './failure-limiter.js';
import { equalSecrets, verifySecretHash } from './secret-hash.js';
import type { AppEntry, TenantEntry } from './compile.js';
import type { KeySource } from './signing-keys.js';

const MAX_FORM = 64 * 1024;
const BODY_TIMEOUT_MS = 10_000;
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface TokenResponse {
  token_type: 'Bearer';
  expires_in: number;
  ext_expires_in: number;
  access_token: string;
}

function b64json(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url');
}

/** Azure's `uti`: a random, URL-safe token identifier. */
function uti(): string {
  return randomBytes(16).toString('base64url').slice(0, 22);
}

export interface TokenEndpointDeps {
  keys: KeySource;
  log: Logger;
  now: () => number;
  limiter: ClientFailureLimiter;
}

export class TokenEndpoint {
  /** jti of accepted client assertions until they expire (replay protection). */
  private readonly seenJti = new Map<string, number>();

  constructor(private readonly d: TokenEndpointDeps) {}

  async handle(ctx: RequestContext, tenant: TenantEntry, base: string, version: 1 | 2): Promise<void> {
    const now = this.d.now();
    const err = (status: number, error: string, code: number, description: string, headers?: Record<string, string>): void =>
      aadError(ctx, now, status, error, code, description, headers);
    if (ctx.method !== 'POST') return err(405, 'invalid_request', 900561, 'The endpoint only accepts POST requests.', { allow: 'POST' });
    if (this.d.keys.active() === undefined) {
      // Shared keys (Redis) not reachable yet: never sign with a key the other replicas do not know.
      ctx.code = 'GH_IDENTITY_KEYS_UNAVAILABLE';
      return err(
        503,
        'temporarily_unavailable',
        90033,
        'The issuer has no signing key shared with the other replicas yet (Redis cannot be reached); try again later.',
        { 'retry-after': '5' },
      );
    }
    const ctype = String(ctx.req.headers['content-type'] ?? '')
      .split(';')[0]
      ?.trim()
      .toLowerCase();
    let raw: Buffer;
    try {
      raw = await readBody(ctx.body, MAX_FORM, BODY_TIMEOUT_MS);
    } catch (e) {
      const reason = e instanceof BodyError ? e.reason : 'aborted';
      if (reason === 'too-large') return err(413, 'invalid_request', 90004, `The request body is larger than ${MAX_FORM} bytes.`);
      return err(400, 'invalid_request', 90004, 'The request body could not be read.');
    }
    if (ctype !== 'application/x-www-form-urlencoded' && raw.length > 0) {
      return err(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'.");
    }
    const form = new URLSearchParams(raw.toString('utf8'));
    const grant = form.get('grant_type');
    if (grant === null || grant === '')
      return err(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'.");
    if (grant !== 'client_credentials')
      return err(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${shown(grant)}'.`);

    // Client authentication: HTTP Basic (RFC 6749 §2.3.1, form-encoded parts) or form fields.
    let clientId = form.get('client_id');
    let secret = form.get('client_secret');
    const auth = ctx.req.headers.authorization;
    if (typeof auth === 'string' && auth.slice(0, 6).toLowerCase() === 'basic ') {
      const dec = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
      const colon = dec.indexOf(':');
      if (colon > 0) {
        try {
          clientId = decodeURIComponent(dec.slice(0, colon).replace(/\+/g, ' '));
          secret = decodeURIComponent(dec.slice(colon + 1).replace(/\+/g, ' '));
        } catch {
          return err(401, 'invalid_client', 7000215, 'Invalid client secret provided.');
        }
      }
    }
    if (clientId === null || clientId === '')
      return err(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.");
    const resourceParam = version === 1 ? form.get('resource') : form.get('scope');
    if (resourceParam === null || resourceParam === '') {
      const p = version === 1 ? 'resource' : 'scope';
      return err(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${p}'.`);
    }
    const client = tenant.apps.get(clientId.toLowerCase());
    if (client === undefined) {
      return err(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${shown(clientId)}' was not found in the directory '${tenant.domain ?? tenant.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
      );
    }
    const ip = ctx.clientIp;
    const wait = await this.d.limiter.blockedFor(client.appId, ip);
    if (wait > 0) {
      return err(
        429,
        'invalid_client',
        50053,
        'Too many failed authentication attempts for this client from this address; try again later.',
        { 'retry-after': String(Math.ceil(wait / 1000)) },
      );
    }
    const assertion = form.get('client_assertion');
    let acr: '1' | '2';
    if (assertion !== null && assertion !== '') {
      if (form.get('client_assertion_type') !== ASSERTION_TYPE) {
        return err(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_assertion_type'.");
      }
      const problem = this.checkAssertion(assertion, client, tenant, base, version, now);
      if (problem !== null) {
        await this.d.limiter.fail(client.appId, ip);
        this.d.log.info({ client: client.appId, ip }, 'identity: client assertion refused');
        return err(401, 'invalid_client', 700027, `Client assertion failed validation: ${problem}`);
      }
      acr = '2';
    } else {
      if (secret === null || secret === '') {
        return err(
          401,
          'invalid_client',
          7000218,
          "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        );
      }
      const verdict = await this.checkSecret(secret, client, now);
      if (verdict !== 'ok') {
        await this.d.limiter.fail(client.appId, ip);
        this.d.log.info({ client: client.appId, ip }, 'identity: client secret refused');
        if (verdict === 'expired')
          return err(401, 'invalid_client', 7000222, `The provided client secret keys for app '${client.appId}' are expired.`);
        return err(
          401,
          'invalid_client',
          7000215,
          `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${client.appId}'.`,
        );
      }
      acr = '1';
    }
    await this.d.limiter.succeed(client.appId, ip);

    // Scope: `<identifierUri or appId>/.default` (v2) or the resource itself (v1).
    let resourceId = resourceParam.trim();
    if (version === 2) {
      const scopes = resourceId.split(/\s+/);
      const s = scopes[0] as string;
      if (scopes.length !== 1 || !s.endsWith('/.default')) {
        return err(
          400,
          'invalid_scope',
          70011,
          `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope ${shown(resourceParam)} is not valid. Client credentials requests use '<resource>/.default'.`,
        );
      }
      resourceId = s.slice(0, -'/.default'.length);
    }
    const api =
      tenant.appsByUri.get(resourceId) ?? tenant.appsByUri.get(resourceId.replace(/\/$/, '')) ?? tenant.apps.get(resourceId.toLowerCase());
    if (api === undefined) {
      return err(
        400,
        'invalid_resource',
        500011,
        `The resource principal named ${shown(resourceId)} was not found in the tenant named ${tenant.domain ?? tenant.tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
      );
    }
    const granted = client.grants.get(api.appId) ?? [];
    const roles = granted.filter((r) => {
      const role = api.roles.get(r);
      return role !== undefined && role.enabled && role.forApplications;
    });
    const token = this.sign(tenant, client, api, resourceId, roles, acr, base, now);
    this.d.log.info({ tenant: tenant.tenantId, client: client.appId, resource: api.appId, roles: roles.length }, 'identity: token issued');
    const body: TokenResponse = {
      token_type: 'Bearer',
      expires_in: tenant.tokenLifetimeSec - 1,
      ext_expires_in: tenant.tokenLifetimeSec - 1,
      access_token: token,
    };
    sendJson(ctx, 200, body, { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' });
  }

  private async checkSecret(secret: string, app: AppEntry, now: number): Promise<'ok' | 'bad' | 'expired'> {
    let expiredMatch = false;
    for (const s of app.secrets) {
      const match = s.kind === 'plain' ? equalSecrets(secret, s.value) : await verifySecretHash(secret, s.value);
      if (!match) continue;
      if (s.expiresAt !== undefined && s.expiresAt <= now) expiredMatch = true;
      else return 'ok';
    }
    return expiredMatch ? 'expired' : 'bad';
  }

  /** Returns null when the assertion is valid, else a short reason (never the assertion). */
  private checkAssertion(assertion: string, app: AppEntry, tenant: TenantEntry, base: string, version: 1 | 2, now: number): string | null {
    if (assertion.length > 16_384) return 'assertion too large.';
    const jws = parseCompact(assertion);
    if (typeof jws === 'string') return 'malformed assertion.';
    if (jws.alg.toLowerCase() === 'none' || jws.alg.startsWith('HS'))
      return 'the assertion must be signed with the registered certificate.';
    const x5t = typeof jws.header.x5t === 'string' ? jws.header.x5t : undefined;
    const nowSec = now / 1000;
    const usable = app.certs.filter(
      (c) =>
        (c.expiresAt === undefined || c.expiresAt > now) &&
        (jws.kid === undefined && x5t === undefined ? true : c.key.kid === undefined || c.key.kid === jws.kid || c.key.kid === x5t),
    );
    if (!usable.some((c) => verifySignature(jws, c.key))) return 'signature validation failed.';
    const p = jws.payload;
    if (p.iss !== app.appId && p.iss !== app.appId.toUpperCase()) return "'iss' must be the client id.";
    if (p.sub !== p.iss) return "'sub' must be the client id.";
    const path = version === 2 ? 'oauth2/v2.0/token' : 'oauth2/token';
    const auds = new Set(
      [tenant.tenantId, tenant.domain, tenant.name].filter((x): x is string => x !== undefined).map((t) => `${base}/${t}/${path}`),
    );
    const aud = Array.isArray(p.aud) ? p.aud : [p.aud];
    if (!aud.some((a) => typeof a === 'string' && auds.has(a))) return "'aud' must be this token endpoint.";
    if (typeof p.exp !== 'number' || nowSec >= p.exp + 60) return 'the assertion is expired.';
    if (typeof p.nbf === 'number' && nowSec + 60 < p.nbf) return 'the assertion is not yet valid.';
    if (p.exp - nowSec > 3600 + 60) return 'the assertion lifetime is longer than one hour.';
    if (typeof p.jti !== 'string' || p.jti === '') return "'jti' is required.";
    for (const [k, exp] of this.seenJti) if (exp <= nowSec) this.seenJti.delete(k);
    const jkey = `${app.appId}\n${p.jti}`;
    if (this.seenJti.has(jkey)) return 'the assertion was already used.';
    if (this.seenJti.size < 100_000) this.seenJti.set(jkey, p.exp + 60);
    return null;
  }

  private sign(
    tenant: TenantEntry,
    client: AppEntry,
    api: AppEntry,
    requested: string,
    roles: string[],
    acr: '1' | '2',
    base: string,
    nowMs: number,
  ): string {
    const key = this.d.keys.active();
    if (key === undefined) throw new Error('identity: no signing key (init() not run)');
    const iat = Math.floor(nowMs / 1000);
    const exp = iat + tenant.tokenLifetimeSec;
    const claims: Record<string, unknown> =
      api.tokenVersion === 2
        ? {
            aud: api.appId,
            iss: `${base}/${tenant.tenantId}/v2.0`,
            iat,
            nbf: iat,
            exp,
            azp: client.appId,
            azpacr: acr,
            oid: client.objectId,
            sub: client.objectId,
            tid: tenant.tenantId,
            uti: uti(),
            ver: '2.0',
          }
        : {
            aud: requested,
            iss: `${base}/${tenant.tenantId}/`,
            iat,
            nbf: iat,
            exp,
            appid: client.appId,
            appidacr: acr,
            idp: `${base}/${tenant.tenantId}/`,
            oid: client.objectId,
            sub: client.objectId,
            tid: tenant.tenantId,
            uti: uti(),
            ver: '1.0',
          };
    if (roles.length > 0) claims.roles = roles;
    const input = `${b64json({ typ: 'JWT', alg: 'RS256', kid: key.kid })}.${b64json(claims)}`;
    const sig = createSign('sha256').update(input).sign(key.privateKey).toString('base64url');
    return `${input}.${sig}`;
  }
}
