/**
 * The contract of the base `ResponseWriter`s (src/http/response-writer.ts) as
 * one case table every writer runs, the way Hono runs one router suite
 * against each router: the gateway's HTTP/1.1 writer (h1/writer.ts),
 * NodeResponseWriter and SocketResponseWriter (node-writers.ts), and a
 * ForwardingWriter over one of them. Each case is a handler that drives
 * `ctx.rw` on a real entry point on 127.0.0.1, and a raw TCP client that reads
 * the bytes: what a client can tell (status, headers, body, whether the body
 * ended cleanly or was cut) and what the context recorded (`ctx.status`,
 * `ctx.bytesOut`, `onHead`) are the observation. Where a writer
 * legitimately differs, `differs` names it with what it does and why.
 *
 * Test code, imported only by response-writers.test.ts.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { RequestContext } from '../http/exchange.js';

export type WriterName = 'H1ResponseWriter' | 'NodeResponseWriter' | 'SocketResponseWriter' | 'ForwardingWriter';

/** A running server whose handler sees the writer under test as `ctx.rw`. */
export interface WriterServer {
  readonly port: number;
  close(): Promise<void>;
}

export interface WriterImpl {
  readonly name: WriterName;
  /** Serve `handler` on 127.0.0.1; `onEnd` is called with the context when the exchange is over. */
  start(handler: (ctx: RequestContext) => void, onEnd: (ctx: RequestContext) => void): Promise<WriterServer>;
  /** The request that reaches this writer for `path` (an upgrade request for SocketResponseWriter). */
  request(path: string, version: '1.0' | '1.1'): string;
}

export type Observation = Readonly<Record<string, unknown>>;

/** What the handler may record for the observation. */
export type Notes = Record<string, unknown>;

export interface WriterCase {
  readonly name: string;
  /** HTTP version of the client (default 1.1). */
  readonly version?: '1.0' | '1.1';
  /** The client starts reading only after this many ms (back-pressure). */
  readonly readDelayMs?: number;
  handle(ctx: RequestContext, notes: Notes): void;
  /** The observation from what the client read, the notes and the finished context. */
  observe(res: ClientView, notes: Notes, ctx: Finished): Observation;
  readonly expect: Observation;
  readonly differs?: Partial<Record<WriterName, { readonly expect: Observation; readonly why: string }>>;
}

/** The context's fields once the exchange is over. */
export interface Finished {
  status: number;
  bytesOut: number;
}

/** What a client can tell from the bytes it read. */
export interface ClientView {
  status: number;
  headers: Record<string, string>;
  body: string;
  trailers: Record<string, string>;
  /** The body ended as framed (content-length reached, last chunk, or a clean close for a close-delimited body). */
  complete: boolean;
  /** How the connection ended: 'end' (FIN), 'reset', or 'timeout'. */
  closedBy: string;
}

/** Parse one HTTP/1.x response from raw bytes; lenient on purpose (this is the observer, not the subject). */
function view(raw: Buffer, closedBy: string): ClientView {
  const text = raw.toString('latin1');
  const e = text.indexOf('\r\n\r\n');
  if (e < 0) return { status: 0, headers: {}, body: '', trailers: {}, complete: false, closedBy };
  const lines = text.slice(0, e).split('\r\n');
  const status = Number(lines[0]!.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    const k = l.slice(0, i).trim().toLowerCase();
    const v = l.slice(i + 1).trim();
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  }
  const rest = text.slice(e + 4);
  const trailers: Record<string, string> = {};
  if (headers['transfer-encoding'] === 'chunked') {
    let body = '';
    let at = 0;
    for (;;) {
      const nl = rest.indexOf('\r\n', at);
      if (nl < 0) return { status, headers, body, trailers, complete: false, closedBy };
      const size = parseInt(rest.slice(at, nl), 16);
      if (Number.isNaN(size)) return { status, headers, body, trailers, complete: false, closedBy };
      if (size === 0) {
        const end = rest.indexOf('\r\n\r\n', nl);
        const tl = end < 0 ? rest.slice(nl + 2) : rest.slice(nl + 2, end);
        for (const l of tl.split('\r\n')) {
          const i = l.indexOf(':');
          if (i > 0) trailers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
        }
        const complete = end >= 0 || rest.slice(nl).startsWith('\r\n\r\n');
        return { status, headers, body, trailers, complete, closedBy };
      }
      if (rest.length < nl + 2 + size + 2)
        return { status, headers, body: body + rest.slice(nl + 2, nl + 2 + size), trailers, complete: false, closedBy };
      body += rest.slice(nl + 2, nl + 2 + size);
      at = nl + 2 + size + 2;
    }
  }
  const cl = headers['content-length'];
  if (cl !== undefined) {
    const n = Number(cl);
    return { status, headers, body: rest.slice(0, n), trailers, complete: rest.length >= n, closedBy };
  }
  return { status, headers, body: rest, trailers, complete: closedBy === 'end', closedBy };
}

/** Send `request` and read until the server closes the connection. */
function exchange(port: number, request: string, readDelayMs: number): Promise<ClientView> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let closedBy = 'end';
    const s = connect({ port, host: '127.0.0.1' });
    const timer = setTimeout(() => {
      closedBy = 'timeout';
      s.destroy();
    }, 5000);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => (closedBy = 'reset'));
    s.on('close', () => {
      clearTimeout(timer);
      resolve(view(Buffer.concat(chunks), closedBy));
    });
    s.write(request, 'latin1');
    if (readDelayMs > 0) {
      s.pause();
      setTimeout(() => s.resume(), readDelayMs);
    }
  });
}

const ab = (s: string): Buffer => Buffer.from(s);

// --- the table -------------------------------------------------------------

const NO_TRAILERS =
  'an answer on an upgrade socket is close-delimited (it rejects the upgrade): there is no chunked body to carry trailers';

export const WRITER_CASES: readonly WriterCase[] = [
  {
    name: 'writeHead then end: status, headers and body are written once; a second writeHead throws',
    handle(ctx, notes) {
      ctx.rw.writeHead(201, { 'x-a': '1', 'content-type': 'text/plain' });
      try {
        ctx.rw.writeHead(202, { 'x-b': '2' });
        notes.second = 'accepted';
      } catch {
        notes.second = 'threw';
      }
      ctx.rw.end(ab('ok'));
    },
    observe: (r, n, f) => ({
      status: r.status,
      xa: r.headers['x-a'],
      xb: r.headers['x-b'],
      body: r.body,
      complete: r.complete,
      second: n.second,
      ctxStatus: f.status,
    }),
    expect: { status: 201, xa: '1', xb: undefined, body: 'ok', complete: true, second: 'threw', ctxStatus: 201 },
  },
  {
    name: 'headersSent: false before writeHead, true right after',
    handle(ctx, notes) {
      notes.before = ctx.rw.headersSent;
      ctx.rw.writeHead(200, { 'content-length': 2 });
      notes.after = ctx.rw.headersSent;
      ctx.rw.end(ab('hi'));
    },
    observe: (r, n) => ({ before: n.before, after: n.after, body: r.body }),
    expect: { before: false, after: true, body: 'hi' },
  },
  {
    name: 'ctx.bytesOut counts the body bytes of write and end; ctx.status is the status written',
    handle(ctx) {
      ctx.rw.writeHead(200, { 'content-type': 'text/plain' });
      ctx.rw.write(ab('abc'));
      ctx.rw.write(ab('defg'));
      ctx.rw.end('hi');
    },
    observe: (r, _n, f) => ({ body: r.body, complete: r.complete, bytesOut: f.bytesOut, ctxStatus: f.status }),
    expect: { body: 'abcdefghi', complete: true, bytesOut: 9, ctxStatus: 200 },
  },
  {
    name: 'onHead is called once, after the head, with ctx.status set',
    handle(ctx, notes) {
      const calls: string[] = [];
      notes.calls = calls;
      ctx.onHead = (c) => calls.push(`${c.status} ${c.rw.headersSent}`);
      ctx.rw.writeHead(203, { 'content-type': 'text/plain' });
      ctx.rw.write(ab('a'));
      ctx.rw.end(ab('b'));
    },
    observe: (r, n) => ({ status: r.status, calls: n.calls }),
    expect: { status: 203, calls: ['203 true'] },
  },
  {
    name: 'end without writeHead answers 200 with the body',
    handle(ctx) {
      ctx.rw.end(ab('x'));
    },
    observe: (r, _n, f) => ({ status: r.status, body: r.body, complete: r.complete, ctxStatus: f.status, bytesOut: f.bytesOut }),
    expect: { status: 200, body: 'x', complete: true, ctxStatus: 200, bytesOut: 1 },
  },
  {
    name: 'write without writeHead answers 200 with the body',
    handle(ctx) {
      ctx.rw.write(ab('ab'));
      ctx.rw.end();
    },
    observe: (r, _n, f) => ({ status: r.status, body: r.body, complete: r.complete, ctxStatus: f.status, bytesOut: f.bytesOut }),
    expect: { status: 200, body: 'ab', complete: true, ctxStatus: 200, bytesOut: 2 },
  },
  {
    name: 'back-pressure: write returns false while the client does not read, and onDrain fires once it does',
    readDelayMs: 300,
    handle(ctx, notes) {
      const piece = Buffer.alloc(64 * 1024, 0x61);
      ctx.rw.writeHead(200, { 'content-type': 'application/octet-stream' });
      let n = 0;
      let ok = true;
      while (ok && n < 1024) {
        ok = ctx.rw.write(piece);
        n++;
      }
      notes.sawFalse = !ok;
      notes.written = n * piece.length;
      if (ok) ctx.rw.end();
      else
        ctx.rw.onDrain(() => {
          notes.drained = true;
          ctx.rw.end();
        });
    },
    observe: (r, n, f) => ({
      sawFalse: n.sawFalse,
      drained: n.drained,
      received: r.body.length === n.written,
      complete: r.complete,
      bytesOut: f.bytesOut === n.written,
    }),
    expect: { sawFalse: true, drained: true, received: true, complete: true, bytesOut: true },
  },
  {
    name: 'destroy after the head, chunked body: the client never sees a clean end',
    handle(ctx) {
      ctx.rw.writeHead(200, { 'content-type': 'text/plain' });
      ctx.rw.write(ab('partial'));
      setTimeout(() => ctx.rw.destroy(new Error('upstream failed')), 20);
    },
    observe: (r) => ({ status: r.status, complete: r.complete }),
    expect: { status: 200, complete: false },
  },
  {
    name: 'destroy after the head, content-length body: the client never sees a clean end',
    handle(ctx) {
      ctx.rw.writeHead(200, { 'content-length': 10 });
      ctx.rw.write(ab('01234'));
      setTimeout(() => ctx.rw.destroy(new Error('upstream failed')), 20);
    },
    observe: (r) => ({ status: r.status, complete: r.complete }),
    expect: { status: 200, complete: false },
  },
  {
    name: 'destroy after the head, close-delimited body (HTTP/1.0 client): the client never sees a clean end',
    version: '1.0',
    handle(ctx) {
      ctx.rw.writeHead(200, { 'content-type': 'text/plain' });
      ctx.rw.write(ab('partial'));
      setTimeout(() => ctx.rw.destroy(new Error('upstream failed')), 20);
    },
    observe: (r) => ({ status: r.status, complete: r.complete, closedBy: r.closedBy }),
    expect: { status: 200, complete: false, closedBy: 'reset' },
  },
  {
    name: 'trailers follow a chunked body',
    handle(ctx) {
      ctx.rw.writeHead(200, { trailer: 'x-t', 'content-type': 'text/plain' });
      ctx.rw.write(ab('a'));
      ctx.rw.addTrailers({ 'x-t': 'v' });
      ctx.rw.end();
    },
    observe: (r) => ({ body: r.body, trailers: r.trailers, complete: r.complete }),
    expect: { body: 'a', trailers: { 'x-t': 'v' }, complete: true },
    differs: { SocketResponseWriter: { expect: { body: 'a', trailers: {}, complete: true }, why: NO_TRAILERS } },
  },
  {
    name: 'a header value with CR LF throws in writeHead, writes nothing, and the handler can still answer',
    handle(ctx, notes) {
      try {
        ctx.rw.writeHead(200, { 'x-bad': 'a\r\nx-injected: 1' });
        notes.threw = false;
      } catch {
        notes.threw = true;
      }
      notes.sentAfterThrow = ctx.rw.headersSent;
      ctx.rw.writeHead(500, { 'content-length': 4 });
      ctx.rw.end(ab('oops'));
    },
    observe: (r, n, f) => ({
      threw: n.threw,
      sentAfterThrow: n.sentAfterThrow,
      status: r.status,
      injected: r.headers['x-injected'],
      body: r.body,
      ctxStatus: f.status,
    }),
    expect: { threw: true, sentAfterThrow: false, status: 500, injected: undefined, body: 'oops', ctxStatus: 500 },
  },
];

// --- the runner ------------------------------------------------------------

/** Run every case of the table against `impl`, on one server. */
export function runWriterContract(impl: WriterImpl): void {
  const routes = new Map<string, { handle: (ctx: RequestContext) => void; done: (f: Finished) => void }>();
  let server: WriterServer | null = null;
  after(() => server?.close());
  WRITER_CASES.forEach((k, i) => {
    const d = k.differs?.[impl.name];
    test(`${impl.name}: ${k.name}`, async () => {
      server ??= await impl.start(
        (ctx) => routes.get(ctx.path)?.handle(ctx),
        (ctx) => routes.get(ctx.path)?.done({ status: ctx.status, bytesOut: ctx.bytesOut }),
      );
      const path = `/case-${i}`;
      const notes: Notes = {};
      const finished = new Promise<Finished>((done) => routes.set(path, { handle: (ctx) => k.handle(ctx, notes), done }));
      const res = await exchange(server.port, impl.request(path, k.version ?? '1.1'), k.readDelayMs ?? 0);
      const f = await Promise.race([finished, new Promise<Finished>((r) => setTimeout(() => r({ status: -1, bytesOut: -1 }), 2000))]);
      assert.deepEqual(k.observe(res, notes, f), d?.expect ?? k.expect, d !== undefined ? `${impl.name} differs: ${d.why}` : undefined);
    });
  });
}
