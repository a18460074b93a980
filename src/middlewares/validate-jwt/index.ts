/**
 * validateJwt: Azure API Management `validate-jwt` semantics as a middleware.
 * Token from a header (with scheme), a query parameter or a cookie; signature,
 * lifetime, audience, issuer and required claims checked; claims copied into
 * headers; the token optionally removed before the backend.
 */
import { answerJson } from '../../http/answers.js';
import type { Handler } from '../../http/handler.js';
import type { RequestContext } from '../../http/exchange.js';
import { defineMiddleware, MiddlewareOptionError } from '../types.js';
import { ValidateJwtSchema, type ValidateJwtOptions } from './schema.js';
import { JwtValidator, type VerifyResult } from './validator.js';
import { MESSAGES } from './claims.js';
import { cookieValue, queryParam, removeCookie, removeQueryParam } from './outputs.js';
import { registerStatus } from './status.js';

export { ValidateJwtSchema, type ValidateJwtOptions } from './schema.js';
export { JwtValidator, type VerifyResult, type ValidatorStatus } from './validator.js';
export { validateJwtStatus } from './status.js';
export { MESSAGES as VALIDATE_JWT_MESSAGES } from './claims.js';

/** Reads the token: string, undefined when absent, null when present but unusable (wrong scheme). */
type Extractor = (ctx: RequestContext) => string | undefined | null;
type Remover = (ctx: RequestContext) => void;

function compileSource(o: ValidateJwtOptions): { extract: Extractor; remove: Remover } {
  const given = [o.headerName, o.queryParameterName, o.cookieName].filter((x) => x !== undefined).length;
  if (given > 1) throw new MiddlewareOptionError('headerName', 'give exactly one of headerName, queryParameterName or cookieName');
  if (o.queryParameterName !== undefined) {
    const name = o.queryParameterName;
    return {
      extract: (ctx) => queryParam(ctx.query, name),
      remove: (ctx) => {
        ctx.query = removeQueryParam(ctx.query, name);
      },
    };
  }
  if (o.cookieName !== undefined) {
    const name = o.cookieName;
    return {
      extract: (ctx) => {
        const h = ctx.headers.cookie;
        return cookieValue(Array.isArray(h) ? h.join('; ') : h, name);
      },
      remove: (ctx) => {
        const h = ctx.headers.cookie;
        if (h === undefined) return;
        const rest = removeCookie(Array.isArray(h) ? h.join('; ') : h, name);
        if (rest === undefined) delete ctx.headers.cookie;
        else ctx.headers.cookie = rest;
      },
    };
  }
  const header = (o.headerName ?? 'Authorization').toLowerCase();
  const scheme = (o.requireScheme ?? 'Bearer').toLowerCase();
  const prefixLen = scheme === '' ? 0 : scheme.length + 1;
  return {
    extract: (ctx) => {
      const raw = ctx.headers[header];
      const v = Array.isArray(raw) ? raw[0] : raw;
      if (v === undefined || v.trim() === '') return undefined;
      if (prefixLen === 0) return v.trim();
      if (v.length <= prefixLen || v.charCodeAt(scheme.length) !== 32 || v.slice(0, scheme.length).toLowerCase() !== scheme) return null;
      return v.slice(prefixLen).trim();
    },
    remove: (ctx) => {
      // undefined rather than delete: a delete turns the header object into a slow dictionary.
      ctx.headers[header] = undefined;
    },
  };
}

/** RFC 6750 quoted-string content: printable ASCII without quotes or backslashes. */
function quoted(s: string): string {
  return s.replace(/[^\x20-\x7e]|["\\]/g, "'");
}

export const middleware = defineMiddleware({
  type: 'validateJwt',
  aliases: ['validate-jwt'],
  schema: ValidateJwtSchema,
  create(options, deps) {
    const { extract, remove } = compileSource(options);
    const validator = new JwtValidator(options, {
      onKeyError: (url, message) =>
        deps.log.warn({ middleware: deps.name, url, err: message }, 'validateJwt: key endpoint failed; keeping the last good keys'),
    });
    const unregister = registerStatus(deps.name, () => validator.status());
    deps.onClose(() => {
      unregister();
      validator.close();
    });
    validator.start();
    const override = options.failedValidationErrorMessage;
    const forward = options.forwardToken ?? true;
    const names = validator.headerNames;

    const fail = (ctx: RequestContext, status: number, message: string): void => {
      const text = override !== undefined && status === validator.failCode ? override : message;
      deps.log.debug({ middleware: deps.name, reason: message }, 'validateJwt: request refused');
      const code =
        message === MESSAGES.keysUnavailable
          ? 'GH_TOKEN_KEYS_UNAVAILABLE'
          : status === validator.failCode
            ? 'GH_TOKEN_REJECTED'
            : 'GH_INTERNAL';
      answerJson(
        ctx,
        code,
        status,
        { statusCode: status, message: text },
        {
          'www-authenticate': `Bearer error="invalid_token", error_description="${quoted(text)}"`,
        },
      );
    };

    return (next: Handler): Handler => {
      const settle = (ctx: RequestContext, r: VerifyResult): void => {
        if (!r.ok) {
          fail(ctx, r.status, r.message);
          return;
        }
        const e = r.entry;
        ctx.claims = e.claims;
        ctx.caller = e.caller;
        if (!forward) remove(ctx);
        for (let i = 0; i < names.length; i++) {
          const v = e.headerValues[i];
          if (v === null || v === undefined) ctx.headers[names[i] as string] = undefined;
          else ctx.headers[names[i] as string] = v;
        }
        next(ctx);
      };
      return function validateJwt(ctx: RequestContext): void {
        const token = extract(ctx);
        if (token === undefined) return fail(ctx, validator.failCode, MESSAGES.notPresent);
        if (token === null) return fail(ctx, validator.failCode, MESSAGES.invalid);
        const r = validator.verify(token);
        if (r instanceof Promise) {
          r.then(
            (res) => {
              try {
                settle(ctx, res);
              } catch (err) {
                deps.log.error({ middleware: deps.name, err: (err as Error).message }, 'validateJwt: next handler threw');
                if (ctx.rw.headersSent) ctx.rw.destroy();
                else answerJson(ctx, 'GH_INTERNAL', 500, { statusCode: 500, message: 'Internal error.' });
              }
            },
            () => fail(ctx, 500, 'Token validation failed unexpectedly.'),
          );
        } else settle(ctx, r);
      };
    };
  },
});
