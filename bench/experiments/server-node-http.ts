/**
 * Prototype (c): node:http downstream (as Gatehouse today) + the raw-socket
 * upstream pool instead of undici, to see which side carries the cost.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Body, HOP, upstreamHead, chunkPrefix, LAST_CHUNK, connectionTokens, type ProxyRequest } from './http-shared.js';
import type { UpstreamConn, UpstreamOwner, UpstreamPool } from './upstream-raw.js';

class Exchange implements UpstreamOwner {
  private up: UpstreamConn | null = null;
  private started = false;
  private readonly preq: ProxyRequest;
  private readonly onDrainRes = (): void => this.up?.resume();

  constructor(private readonly req: IncomingMessage, private readonly res: ServerResponse, pool: UpstreamPool) {
    const h = req.headers;
    const te = h['transfer-encoding'];
    const cl = h['content-length'];
    const body = te !== undefined ? Body.Chunked : cl !== undefined && cl !== '0' ? Body.Length : Body.None;
    const ip = req.socket.remoteAddress ?? '';
    this.preq = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.rawHeaders,
      body,
      contentLength: body === Body.Length ? Number(cl) : 0,
      keepAlive: true,
      http10: false,
    };
    res.once('close', () => {
      if (!res.writableFinished && this.up !== null) {
        const u = this.up;
        this.up = null;
        u.destroy();
      }
    });
    pool.acquire((c) => this.attach(c, ip.startsWith('::ffff:') ? ip.slice(7) : ip));
  }

  private attach(up: UpstreamConn, clientIp: string): void {
    if (this.res.destroyed) {
      up.destroy();
      return;
    }
    this.up = up;
    const p = this.preq;
    up.start(this, upstreamHead(p, clientIp), p.method === 'HEAD', p.body === Body.None);
    if (p.body === Body.None) return;
    const req = this.req;
    const chunked = p.body === Body.Chunked;
    req.on('data', (c: Buffer) => {
      let ok: boolean;
      if (chunked) {
        up.write(chunkPrefix(c.length));
        up.write(c);
        ok = up.write('\r\n');
      } else ok = up.write(c);
      if (!ok) req.pause();
    });
    req.on('end', () => {
      if (chunked) up.write(LAST_CHUNK);
      up.requestDone();
    });
  }

  upHead(status: number, headers: string[], body: Body, contentLength: number): void {
    this.started = true;
    const out: string[] = [];
    let conn: Record<string, true> | null = null;
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i]!.toLowerCase() === 'connection') conn = connectionTokens(headers[i + 1]!);
    }
    for (let i = 0; i < headers.length; i += 2) {
      const l = headers[i]!.toLowerCase();
      if (HOP[l] === true || (conn !== null && conn[l] === true)) {
        if (!(l === 'content-length' && body === Body.None)) continue;
      }
      out.push(headers[i]!, headers[i + 1]!);
    }
    if (body === Body.Length) out.push('content-length', String(contentLength));
    this.res.writeHead(status, out);
  }

  upData(chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      this.up?.pause();
      this.res.once('drain', this.onDrainRes);
    }
  }

  upEnd(): void {
    this.up = null;
    this.res.end();
  }

  upError(): void {
    this.up = null;
    if (!this.started && !this.res.headersSent) {
      this.res.writeHead(502, { 'content-type': 'text/plain', 'content-length': 12 });
      this.res.end('bad gateway\n');
    } else this.res.destroy();
  }

  upFlush(): void {}

  upDrain(): void {
    this.req.resume();
  }
}

export function createNodeHttpProxy(pool: UpstreamPool): Server {
  return createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    new Exchange(req, res, pool);
  });
}
