/**
 * buffering: read the whole request body before calling the service (413 when
 * over maxRequestBodyBytes) and hold the whole response before sending it
 * (500 when over maxResponseBodyBytes). With no maximum, bodies past the
 * mem* sizes are streamed rather than spilled to disk.
 */
import { PassThrough, type Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { answer } from '../../http/answers.js';
import type { RequestContext } from '../../http/exchange.js';
import { defineMiddleware, type Handler } from '../types.js';
import { BufferingWriter } from './writer.js';

export const BufferingSchema = Type.Object(
  {
    maxRequestBodyBytes: Type.Optional(Type.Integer({ minimum: 0, description: 'Largest request body accepted (0: no limit)' })),
    memRequestBodyBytes: Type.Optional(Type.Integer({ minimum: 0, description: 'Request bytes held in memory (default 1 MiB)' })),
    maxResponseBodyBytes: Type.Optional(Type.Integer({ minimum: 0, description: 'Largest response body accepted (0: no limit)' })),
    memResponseBodyBytes: Type.Optional(Type.Integer({ minimum: 0, description: 'Response bytes held in memory (default 1 MiB)' })),
    retryExpression: Type.Optional(Type.String({ description: 'Not supported yet: use the retry middleware' })),
  },
  { additionalProperties: false },
);

const MiB = 1024 * 1024;

export const middleware = defineMiddleware({
  type: 'buffering',
  schema: BufferingSchema,
  create(options, deps) {
    const maxReq = options.maxRequestBodyBytes ?? 0;
    const memReq = options.memRequestBodyBytes ?? MiB;
    const maxRes = options.maxResponseBodyBytes ?? 0;
    const memRes = options.memResponseBodyBytes ?? MiB;
    if (maxReq > 0 && memReq > maxReq)
      deps.log.debug({ middleware: deps.name }, 'buffering: memRequestBodyBytes exceeds maxRequestBodyBytes');
    if ((options.retryExpression ?? '') !== '') {
      deps.log.warn({ middleware: deps.name }, 'buffering: retryExpression is not supported yet and is ignored; use the retry middleware');
    }
    const holdReq = maxReq > 0 ? maxReq : memReq;

    const tooLarge = (ctx: RequestContext): void => {
      answer(ctx, 'GH_BODY_TOO_LARGE', { headers: { connection: 'close' } });
    };

    const proceed = (ctx: RequestContext, next: Handler): void => {
      ctx.rw = new BufferingWriter(ctx.rw, maxRes, memRes, () => (ctx.code = 'GH_RESPONSE_TOO_LARGE'));
      next(ctx);
    };

    const readBody = (ctx: RequestContext, stream: Readable, next: Handler): void => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const cleanup = (): void => {
        done = true;
        stream.off('data', onData);
        stream.off('end', onEnd);
        stream.off('error', onError);
        stream.off('aborted', onError);
      };
      const onData = (c: Buffer): void => {
        size += c.length;
        if (size <= holdReq) {
          chunks.push(c);
          return;
        }
        cleanup();
        if (maxReq > 0) {
          stream.pause();
          tooLarge(ctx);
          return;
        }
        // No maximum: hand the service what we hold followed by the rest of the stream.
        stream.pause();
        const body = new PassThrough();
        for (const x of chunks) body.write(x);
        body.write(c);
        stream.pipe(body);
        stream.resume();
        ctx.body = body;
        proceed(ctx, next);
      };
      const onEnd = (): void => {
        if (done) return;
        cleanup();
        const buf = Buffer.concat(chunks, size);
        ctx.body = buf;
        delete ctx.headers['transfer-encoding'];
        ctx.headers['content-length'] = String(buf.length);
        proceed(ctx, next);
      };
      const onError = (): void => {
        if (done) return;
        cleanup();
        ctx.rw.destroy();
      };
      stream.on('data', onData);
      stream.on('end', onEnd);
      stream.on('error', onError);
      stream.on('aborted', onError);
    };

    return (next: Handler): Handler =>
      function buffering(ctx) {
        const body = ctx.body;
        if (body === null) {
          proceed(ctx, next);
          return;
        }
        if (Buffer.isBuffer(body)) {
          if (maxReq > 0 && body.length > maxReq) tooLarge(ctx);
          else proceed(ctx, next);
          return;
        }
        const cl = ctx.headers['content-length'];
        if (maxReq > 0 && cl !== undefined && Number(cl) > maxReq) {
          tooLarge(ctx);
          return;
        }
        readBody(ctx, body, next);
      };
  },
});
