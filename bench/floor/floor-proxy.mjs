// The floor of a Node reverse proxy: GET only, Content-Length responses, no
// routing, no header handling, no errors. It measures what any Node proxy on
// net sockets costs at least (docs/benchmarks.md, "The 2-worker ceiling"); it
// is not a proxy to run. Env: UPSTREAM_PORT (default 19080), PORT (19090),
// WORKERS (2; node:cluster round-robin), ONREAD=1 (read upstream into a reused buffer).
import cluster from 'node:cluster';
import net from 'node:net';
const UP = { host: '127.0.0.1', port: Number(process.env.UPSTREAM_PORT ?? 19080) };
const useOnread = process.env.ONREAD === '1';
const free = [];
function upstream() {
  let s;
  const st = { s: null, cb: null, buf: null };
  const handle = (chunk) => {
    const b = st.buf ? Buffer.concat([st.buf, chunk]) : chunk;
    const end = b.indexOf('\r\n\r\n');
    if (end < 0) {
      st.buf = Buffer.from(b);
      return;
    }
    const head = b.latin1Slice(0, end);
    const m = /content-length: *(\d+)/i.exec(head);
    const len = m ? +m[1] : 0;
    if (b.length < end + 4 + len) {
      st.buf = Buffer.from(b);
      return;
    }
    st.buf = null;
    const status = head.slice(9, 12);
    const body = Buffer.from(b.subarray(end + 4, end + 4 + len));
    const cb = st.cb;
    st.cb = null;
    free.push(st);
    cb(status, body);
  };
  if (useOnread)
    s = net.connect({
      ...UP,
      onread: {
        buffer: Buffer.allocUnsafe(65536),
        callback: (n, buf) => {
          handle(buf.subarray(0, n));
        },
      },
    });
  else {
    s = net.connect(UP);
    s.on('data', handle);
  }
  s.setNoDelay(true);
  st.s = s;
  return st;
}
function serve() {
  net
    .createServer({ noDelay: true }, (c) => {
      let pending = null;
      c.on('data', (chunk) => {
        const b = pending ? Buffer.concat([pending, chunk]) : chunk;
        const end = b.indexOf('\r\n\r\n');
        if (end < 0) {
          pending = b;
          return;
        }
        pending = null;
        const head = b.latin1Slice(0, end);
        const sp = head.indexOf(' '),
          sp2 = head.indexOf(' ', sp + 1);
        const path = head.slice(sp + 1, sp2);
        const u = free.pop() ?? upstream();
        u.cb = (status, body) => {
          c.write(
            `HTTP/1.1 ${status} OK\r\ncontent-length: ${body.length}\r\ncontent-type: text/plain\r\n\r\n` +
              body.latin1Slice(0, body.length),
          );
        };
        u.s.write(`GET ${path} HTTP/1.1\r\nhost: 127.0.0.1:19080\r\nx-forwarded-for: 127.0.0.1\r\n\r\n`);
      });
      c.on('error', () => {});
    })
    .listen(Number(process.env.PORT ?? 19090), '127.0.0.1');
}

cluster.schedulingPolicy = cluster.SCHED_RR;
if (cluster.isPrimary) for (let i = 0; i < Number(process.env.WORKERS ?? 2); i++) cluster.fork();
else serve();
