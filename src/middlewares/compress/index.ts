/**
 * compress: gzip / brotli (and zstd where node:zlib has it, deflate on request)
 * response compression with Traefik's rules (Accept-Encoding q-values, encoding
 * priority, defaultEncoding, content-type lists, minimum size).
 */
import { Type } from '@sinclair/typebox';
import type { RequestContext } from '../../http/exchange.js';
import { defineMiddleware, MiddlewareOptionError, type Handler } from '../types.js';
import { Negotiator, type Encoding } from './negotiate.js';
import { CompressWriter, FACTORIES, type TypeFilter } from './writer.js';

export const CompressSchema = Type.Object(
  {
    excludedContentTypes: Type.Optional(Type.Array(Type.String(), { description: 'Content types never compressed' })),
    includedContentTypes: Type.Optional(Type.Array(Type.String(), { description: 'Only these content types are compressed' })),
    minResponseBodyBytes: Type.Optional(Type.Integer({ minimum: 0, description: 'Smallest body compressed (default 1024)' })),
    encodings: Type.Optional(Type.Array(Type.String(), { description: 'Encodings by priority: gzip, br, zstd, deflate' })),
    defaultEncoding: Type.Optional(Type.String({ description: 'Encoding used when Accept-Encoding is absent or "*"' })),
  },
  { additionalProperties: false },
);

/** Never compressed: gRPC frames and event streams (they need every write flushed). */
const ALWAYS_EXCLUDED = ['application/grpc', 'text/event-stream'];
const DEFAULT_ENCODINGS: readonly Encoding[] = ['gzip', 'br', 'zstd'];

/** Media type of a Content-Type value: lower-case, parameters and whitespace removed. */
export function mediaType(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).replace(/\s+/g, '').toLowerCase();
}

function typeSet(list: readonly string[]): Set<string> {
  return new Set(list.map(mediaType));
}

function isEncoding(v: string): v is Encoding {
  return v === 'gzip' || v === 'br' || v === 'zstd' || v === 'deflate';
}

export const middleware = defineMiddleware({
  type: 'compress',
  schema: CompressSchema,
  create(options, deps) {
    const excludedList = options.excludedContentTypes ?? [];
    const includedList = options.includedContentTypes ?? [];
    if (excludedList.length > 0 && includedList.length > 0) {
      throw new MiddlewareOptionError('includedContentTypes', 'excludedContentTypes and includedContentTypes are mutually exclusive');
    }
    const minBytes = options.minResponseBodyBytes ?? 1024;
    const requested = (options.encodings ?? DEFAULT_ENCODINGS).map((e) => e.trim().toLowerCase());
    const encodings: Encoding[] = [];
    requested.forEach((e, i) => {
      if (!isEncoding(e))
        throw new MiddlewareOptionError(`encodings[${i}]`, `unknown encoding "${e}" (expected gzip, br, zstd or deflate)`);
      if (FACTORIES[e] === null) {
        if (options.encodings !== undefined)
          deps.log.warn({ middleware: deps.name }, `compress: ${e} is not supported by this Node.js version; skipped`);
        return;
      }
      if (!encodings.includes(e)) encodings.push(e);
    });
    if (encodings.length === 0)
      throw new MiddlewareOptionError('encodings', 'no supported encoding left (gzip and br are always available)');
    let defaultEncoding: Encoding | null = null;
    if (options.defaultEncoding !== undefined && options.defaultEncoding !== '') {
      const d = options.defaultEncoding.trim().toLowerCase();
      if (!isEncoding(d) || !encodings.includes(d))
        throw new MiddlewareOptionError(
          'defaultEncoding',
          `"${options.defaultEncoding}" is not one of the enabled encodings (${encodings.join(', ')})`,
        );
      defaultEncoding = d;
    }
    const negotiator = new Negotiator(encodings, defaultEncoding);
    const excluded = typeSet([...ALWAYS_EXCLUDED, ...excludedList]);
    const included = includedList.length > 0 ? typeSet(includedList) : null;
    const typeAllowed: TypeFilter =
      included === null ? (ct) => !excluded.has(mediaType(ct)) : (ct) => included.has(mediaType(ct)) && !excluded.has(mediaType(ct));

    const requestSkips = (ctx: RequestContext): boolean => {
      const h = ctx.headers;
      if (ctx.method === 'HEAD' || h.range !== undefined || ctx.upgrade !== null) return true;
      const ct = h['content-type'];
      return ct !== undefined && excluded.has(mediaType(ct));
    };

    return (next: Handler): Handler =>
      function compress(ctx) {
        if (!requestSkips(ctx)) {
          const ae = ctx.headers['accept-encoding'];
          const encoding = negotiator.choose(ae);
          if (encoding !== null) ctx.rw = new CompressWriter(ctx.rw, encoding, minBytes, typeAllowed);
        }
        next(ctx);
      };
  },
});
