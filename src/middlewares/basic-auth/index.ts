/**
 * basicAuth: HTTP Basic authentication against htpasswd-style users.
 * Successful bcrypt checks are cached (bounded, keyed by an HMAC of the
 * credentials under a per-instance random key), so a client sending the same
 * credentials again costs microseconds, not a bcrypt round.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { answer } from '../../http/answers.js';
import type { RequestContext } from '../../http/exchange.js';
import { defineMiddleware, MiddlewareOptionError, type Handler } from '../types.js';
import { verifyPassword, type StoredHash } from './hashes.js';
import { loadUsers } from './users.js';

export const BasicAuthSchema = Type.Object(
  {
    users: Type.Optional(Type.Array(Type.String(), { description: 'Entries "user:hash" (htpasswd format)' })),
    usersFile: Type.Optional(Type.String({ description: 'File with one "user:hash" per line' })),
    realm: Type.Optional(Type.String({ description: 'Realm sent in WWW-Authenticate (default "traefik")' })),
    removeHeader: Type.Optional(Type.Boolean({ description: 'Remove the Authorization header before forwarding' })),
    headerField: Type.Optional(Type.String({ description: 'Request header that receives the authenticated user name' })),
  },
  { additionalProperties: false },
);

/** Most successful credentials remembered per middleware instance. */
export const CACHE_MAX = 1024;
/** Longest Authorization value considered (bcrypt reads at most 72 bytes anyway). */
const MAX_CREDENTIALS = 4096;

interface Credentials {
  user: string;
  password: string;
}

function parseBasic(header: string | undefined): Credentials | null {
  if (header === undefined || header.length > MAX_CREDENTIALS) return null;
  if (header.length < 7 || header.slice(0, 6).toLowerCase() !== 'basic ') return null;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export const middleware = defineMiddleware({
  type: 'basicAuth',
  schema: BasicAuthSchema,
  create(options) {
    const users = loadUsers(options.users, options.usersFile, process.cwd());
    const names = Object.keys(users);
    if (names.length === 0) throw new MiddlewareOptionError('users', 'no user defined (set users or usersFile)');
    const realm = (options.realm ?? '') === '' ? 'traefik' : (options.realm as string);
    if (/["\\\r\n]/.test(realm)) throw new MiddlewareOptionError('realm', 'must not contain quotes, backslashes or line breaks');
    const challenge = `Basic realm="${realm}"`;
    const headerField = options.headerField === undefined || options.headerField === '' ? null : options.headerField.toLowerCase();
    const removeHeader = options.removeHeader === true;
    // Unknown users are checked against a real hash (result ignored) so their answer takes as long.
    const decoy = users[names[0] as string] as StoredHash;
    const cacheKey = randomBytes(32);
    const cache = new Map<string, true>();

    const deny = (ctx: RequestContext): void => {
      answer(ctx, 'GH_UNAUTHORIZED', { headers: { 'www-authenticate': challenge } });
    };
    const accept = (ctx: RequestContext, next: Handler, user: string): void => {
      if (removeHeader) delete ctx.headers.authorization;
      if (headerField !== null) ctx.headers[headerField] = user;
      next(ctx);
    };

    return (next: Handler): Handler =>
      function basicAuth(ctx) {
        const header = ctx.headers.authorization;
        const creds = parseBasic(header);
        if (creds === null) {
          deny(ctx);
          return;
        }
        const stored = users[creds.user];
        if (stored === undefined) {
          const r = verifyPassword(creds.password, decoy);
          if (typeof r === 'boolean') deny(ctx);
          else
            r.then(
              () => deny(ctx),
              () => deny(ctx),
            );
          return;
        }
        const key = createHmac('sha256', cacheKey)
          .update(header as string)
          .digest('base64');
        if (cache.has(key)) {
          accept(ctx, next, creds.user);
          return;
        }
        const remember = (): void => {
          if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
          cache.set(key, true);
        };
        const r = verifyPassword(creds.password, stored);
        if (typeof r === 'boolean') {
          if (r) accept(ctx, next, creds.user);
          else deny(ctx);
          return;
        }
        r.then(
          (ok) => {
            if (!ok) return deny(ctx);
            remember();
            accept(ctx, next, creds.user);
          },
          () => deny(ctx),
        );
      };
  },
});
