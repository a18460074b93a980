/**
 * Fallback origin when nginx is not installed: `node backend-node.js <port>`.
 * GET /add/<a>/<b> → "20"; GET /big → 16 KiB; anything else → 404.
 */
import { createServer } from 'node:http';
import { bigBody } from './backend.js';

const port = Number(process.argv[2]);
const big = Buffer.from(bigBody());
const small = Buffer.from('20');
const server = createServer((req, res) => {
  const url = req.url ?? '/';
  if (url.startsWith('/add/')) {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': small.length });
    res.end(small);
  } else if (url === '/big') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': big.length });
    res.end(big);
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  }
});
server.keepAliveTimeout = 75_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
