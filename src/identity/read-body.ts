/** Read a request body with a size limit and a deadline. */
import type { Readable } from 'node:stream';

export class BodyError extends Error {
  constructor(readonly reason: 'too-large' | 'timeout' | 'aborted') {
    super(reason);
  }
}

export function readBody(body: Readable | Buffer | null, maxBytes: number, timeoutMs: number): Promise<Buffer> {
  if (body === null) return Promise.resolve(Buffer.alloc(0));
  if (Buffer.isBuffer(body)) return body.length > maxBytes ? Promise.reject(new BodyError('too-large')) : Promise.resolve(body);
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err: BodyError | null): void => {
      clearTimeout(timer);
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      if (err === null) resolve(Buffer.concat(chunks));
      else {
        body.resume();
        reject(err);
      }
    };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > maxBytes) done(new BodyError('too-large'));
      else chunks.push(c);
    };
    const onEnd = (): void => done(null);
    const onError = (): void => done(new BodyError('aborted'));
    const onClose = (): void => done(new BodyError('aborted'));
    const timer = setTimeout(() => done(new BodyError('timeout')), timeoutMs);
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
    body.on('close', onClose);
  });
}
