/**
 * Prototype (a): raw `net` downstream, requests parsed by Node's native llhttp
 * (the binding node:http uses, strict mode: no lenient flags), upstream over
 * the raw pool.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Body, type ProxyRequest } from './http-shared.js';
import { ClientConn } from './client-conn.js';
import { llhttp, type NativeParser } from './llhttp.js';
import type { UpstreamPool } from './upstream-raw.js';

const MAX_HEADER = 16 * 1024;

class LlhttpConn extends ClientConn {
  private readonly parser: NativeParser;
  private headerParts: string[] = [];
  private urlPart = '';
  private bodyKind: Body = Body.None;

  constructor(socket: Socket, pool: UpstreamPool) {
    super(socket, pool);
    const { HTTPParser, allMethods } = llhttp();
    const p = new HTTPParser();
    p.initialize(HTTPParser.REQUEST, {}, MAX_HEADER, HTTPParser.kLenientNone);
    p[HTTPParser.kOnHeaders] = (headers: string[], url: string) => {
      for (const x of headers) this.headerParts.push(x);
      this.urlPart += url;
    };
    p[HTTPParser.kOnHeadersComplete] = (
      maj: number, min: number, headers: string[] | undefined, method: number, url: string | undefined,
      _s: unknown, _sm: unknown, upgrade: boolean, keepAlive: boolean,
    ): number => {
      if (headers === undefined) {
        headers = this.headerParts;
        this.headerParts = [];
      }
      if (url === undefined) {
        url = this.urlPart;
        this.urlPart = '';
      }
      if (upgrade || maj !== 1) {
        this.reject(upgrade ? 501 : 505); // upgrades (WebSocket/CONNECT) not in this prototype
        return 1;
      }
      let body = Body.None;
      let cl = 0;
      let hosts = 0;
      for (let i = 0; i < headers.length; i += 2) {
        const n = headers[i]!;
        if (n.length !== 4 && n.length !== 14 && n.length !== 17) continue;
        const l = n.toLowerCase();
        if (l === 'host') hosts++;
        else if (l === 'content-length') {
          cl = Number(headers[i + 1]);
          if (cl > 0) body = Body.Length;
        } else if (l === 'transfer-encoding') {
          // llhttp refuses CL+TE, but lets "gzip" alone through (read-until-close is meaningless for a request)
          if (headers[i + 1]!.trim().toLowerCase() !== 'chunked') {
            this.reject(501);
            return 1;
          }
          body = Body.Chunked;
        }
      }
      if ((min === 1 && hosts !== 1) || hosts > 1 || (url.charCodeAt(0) !== 0x2f && url !== '*')) {
        this.reject(400);
        return 1;
      }
      this.bodyKind = body;
      const req: ProxyRequest = { method: allMethods[method]!, url, headers, body, contentLength: cl, keepAlive, http10: min === 0 };
      this.request(req);
      return 0;
    };
    p[HTTPParser.kOnBody] = (b: Buffer) => this.reqData(b);
    p[HTTPParser.kOnMessageComplete] = () => {
      if (this.bodyKind !== Body.None) this.reqEnd();
      this.bodyKind = Body.None;
    };
    this.parser = p;
  }

  protected parse(b: Buffer): void {
    const r = this.parser.execute(b);
    if (typeof r !== 'number') this.reject(r.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400);
  }

  protected dispose(): void {
    this.parser.close();
  }
}

export function createLlhttpProxy(pool: UpstreamPool): Server {
  return createServer({ noDelay: true, highWaterMark: 64 * 1024 }, (s) => new LlhttpConn(s, pool));
}
