/**
 * The ResponseWriter contract (response-writer.contract.ts) run against each
 * base writer on a real entry point: the gateway's HTTP/1.1 server, node:http
 * (`http.server=node`), the raw socket of an upgrade request, and a
 * ForwardingWriter (the base of every middleware wrapper) over the first.
 */
import type { RequestContext } from '../http/exchange.js';
import { ForwardingWriter } from '../http/response-writer.js';
import { silentLogger } from '../log.js';
import { EntryPoint } from './entrypoint.js';
import { runWriterContract, type WriterServer } from './response-writer.contract.js';

async function entryPoint(
  http1: 'gatehouse' | 'node',
  handler: (ctx: RequestContext) => void,
  onEnd: (ctx: RequestContext) => void,
): Promise<WriterServer> {
  const ep = new EntryPoint(
    {
      name: 'web',
      host: '127.0.0.1',
      port: 0,
      forwarded: { insecure: false, trustedIPs: [] },
      http1,
      readTimeout: 10_000,
      idleTimeout: 10_000,
      writeTimeout: 0,
      maxHeaderSize: 16 * 1024,
      log: silentLogger,
      onEnd,
      onStart: null,
    },
    handler,
  );
  await ep.listen();
  return { port: ep.address.port, close: () => ep.close(0) };
}

const plain = (path: string, version: '1.0' | '1.1'): string =>
  version === '1.0' ? `GET ${path} HTTP/1.0\r\nHost: t\r\n\r\n` : `GET ${path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`;

runWriterContract({ name: 'H1ResponseWriter', start: (h, e) => entryPoint('gatehouse', h, e), request: plain });
runWriterContract({ name: 'NodeResponseWriter', start: (h, e) => entryPoint('node', h, e), request: plain });
runWriterContract({
  name: 'SocketResponseWriter',
  start: (h, e) => entryPoint('gatehouse', h, e),
  // An upgrade goes to node:http, whose 'upgrade' socket gets the SocketResponseWriter; upgrades are HTTP/1.1 only.
  request: (path) => `GET ${path} HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`,
});
runWriterContract({
  name: 'ForwardingWriter',
  start: (h, e) =>
    entryPoint(
      'gatehouse',
      (ctx) => {
        ctx.rw = new ForwardingWriter(ctx.rw);
        h(ctx);
      },
      e,
    ),
  request: plain,
});
