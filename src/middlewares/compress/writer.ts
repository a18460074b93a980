/**
 * Response writer that compresses the body when the response qualifies.
 * Without a Content-Length it holds the head and up to `minBytes` of body to
 * decide; a compressed stream honours back-pressure both ways: the upstream
 * sees write() → false while zlib is full, and zlib pauses while the client is slow.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import * as zlib from 'node:zlib';
import type { Transform } from 'node:stream';
import type { ResponseWriter } from '../../http/response-writer.js';
import { ForwardingWriter } from '../../http/response-writer.js';
import { headerString } from '../../http/headers.js';
import { addVary } from '../shared/vary.js';
import type { Encoding } from './negotiate.js';

/** Decides from the response head whether its content type may be compressed. */
export type TypeFilter = (contentType: string) => boolean;

type ZlibFactory = () => Transform;

const zstdCompress = (zlib as unknown as { createZstdCompress?: () => Transform }).createZstdCompress;
export const ZSTD_SUPPORTED = typeof zstdCompress === 'function';

export const FACTORIES: Record<Encoding, ZlibFactory | null> = {
  gzip: () => zlib.createGzip(),
  deflate: () => zlib.createDeflate(),
  br: () => zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } }),
  zstd: ZSTD_SUPPORTED ? (zstdCompress as () => Transform) : null,
};

const enum State {
  Init,
  Pending,
  Pass,
  Zip,
}

export class CompressWriter extends ForwardingWriter {
  private state = State.Init;
  private headWritten = false;
  private status = 0;
  private head: OutgoingHttpHeaders = {};
  private held: Buffer[] = [];
  private heldBytes = 0;
  private z: Transform | null = null;

  constructor(
    inner: ResponseWriter,
    private readonly encoding: Encoding,
    private readonly minBytes: number,
    private readonly typeAllowed: TypeFilter,
  ) {
    super(inner);
  }

  override get headersSent(): boolean {
    return this.headWritten || this.inner.headersSent;
  }

  override writeHead(status: number, headers: OutgoingHttpHeaders): void {
    this.headWritten = true;
    if (!this.eligible(status, headers)) {
      this.state = State.Pass;
      this.inner.writeHead(status, headers);
      return;
    }
    addVary(headers, 'Accept-Encoding');
    const cl = headers['content-length'];
    if (cl !== undefined) {
      if (Number(cl) < this.minBytes) {
        this.state = State.Pass;
        this.inner.writeHead(status, headers);
      } else this.startZip(status, headers);
      return;
    }
    this.state = State.Pending;
    this.status = status;
    this.head = headers;
  }

  override write(chunk: Buffer): boolean {
    switch (this.state) {
      case State.Zip:
        return (this.z as Transform).write(chunk);
      case State.Pending:
        this.held.push(chunk);
        this.heldBytes += chunk.length;
        if (this.heldBytes < this.minBytes) return true;
        return this.flushHeld();
      default:
        return this.inner.write(chunk);
    }
  }

  override end(chunk?: Buffer | string): void {
    const buf = chunk === undefined ? undefined : typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    switch (this.state) {
      case State.Zip:
        if (buf === undefined) (this.z as Transform).end();
        else (this.z as Transform).end(buf);
        return;
      case State.Pending: {
        if (buf !== undefined) {
          this.held.push(buf);
          this.heldBytes += buf.length;
        }
        if (this.heldBytes >= this.minBytes) {
          this.flushHeld();
          (this.z as Transform).end();
          return;
        }
        const body = Buffer.concat(this.held, this.heldBytes);
        this.held = [];
        this.head['content-length'] = body.length;
        this.state = State.Pass;
        this.inner.writeHead(this.status, this.head);
        this.inner.end(body);
        return;
      }
      default:
        this.inner.end(buf);
    }
  }

  override onDrain(cb: () => void): void {
    if (this.state === State.Zip) (this.z as Transform).once('drain', cb);
    else if (this.state === State.Pending) setImmediate(cb);
    else this.inner.onDrain(cb);
  }

  override destroy(err?: Error): void {
    this.z?.destroy();
    this.inner.destroy(err);
  }

  private eligible(status: number, headers: OutgoingHttpHeaders): boolean {
    if (status < 200 || status === 204 || status === 206 || status === 304) return false;
    if (headerString(headers['content-encoding']) !== '') return false;
    return this.typeAllowed(headerString(headers['content-type']));
  }

  private flushHeld(): boolean {
    this.startZip(this.status, this.head);
    const z = this.z as Transform;
    let ok = true;
    for (const c of this.held) ok = z.write(c);
    this.held = [];
    return ok;
  }

  private startZip(status: number, headers: OutgoingHttpHeaders): void {
    const z = (FACTORIES[this.encoding] as ZlibFactory)();
    this.z = z;
    this.state = State.Zip;
    delete headers['content-length'];
    delete headers['accept-ranges'];
    headers['content-encoding'] = this.encoding;
    const inner = this.inner;
    z.on('data', (out: Buffer) => {
      if (!inner.write(out)) {
        z.pause();
        inner.onDrain(() => z.resume());
      }
    });
    z.on('end', () => inner.end());
    z.on('error', (err: Error) => inner.destroy(err));
    inner.writeHead(status, headers);
  }
}
