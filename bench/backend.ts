/**
 * The origin the benchmark proxies to: nginx with one worker when installed
 * (the same origin as ../shared/bench), else a plain node:http server
 * (bench/backend-node.ts). Both answer `GET /add/<a>/<b>` with `20` (2 bytes)
 * and `GET /big` with 16 KiB.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasCommand, startPinned, waitFor, get, stop, type Started } from './procs.js';

export const SMALL_PATH = '/add/10/10';
export const BIG_PATH = '/big';
export const BIG_BYTES = 16384;

export function bigBody(): string {
  const unit = 'gatehouse-benchmark-16KiB-body-0123456789abcdefghijklmnopqrstuvwxyz';
  return unit.repeat(Math.ceil(BIG_BYTES / unit.length)).slice(0, BIG_BYTES);
}

function nginxConf(port: number): string {
  return `worker_processes 1;
daemon off;
pid nginx.pid;
error_log stderr warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
  access_log off;
  server_tokens off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 75s;
  keepalive_requests 10000000;
  open_file_cache max=16 inactive=60s;
  client_body_temp_path tmp/client_body;
  proxy_temp_path tmp/proxy;
  fastcgi_temp_path tmp/fastcgi;
  uwsgi_temp_path tmp/uwsgi;
  scgi_temp_path tmp/scgi;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    default_type text/plain;
    location /add/ { return 200 "20"; }
    location = /big { root html; }
    location / { return 404 "not found\\n"; }
  }
}
`;
}

export interface Backend {
  readonly kind: 'nginx' | 'node';
  readonly url: string;
  readonly proc: Started;
}

/** Starts an origin on `port`, pinned to `cpus`, in its own folder under `dir`; waits until it answers both bodies. */
export async function startBackend(
  name: string,
  dir: string,
  port: number,
  cpus: string | null,
  prefer: 'nginx' | 'node',
): Promise<Backend> {
  const home = join(dir, name);
  mkdirSync(join(home, 'tmp'), { recursive: true });
  mkdirSync(join(home, 'html'), { recursive: true });
  let proc: Started;
  let kind: 'nginx' | 'node';
  if (prefer === 'nginx' && hasCommand('nginx')) {
    kind = 'nginx';
    writeFileSync(join(home, 'nginx.conf'), nginxConf(port));
    writeFileSync(join(home, 'html', 'big'), bigBody());
    proc = startPinned(name, cpus, 'nginx', ['-e', 'stderr', '-p', `${home}/`, '-c', join(home, 'nginx.conf')]);
  } else {
    kind = 'node';
    const script = fileURLToPath(new URL('./backend-node.js', import.meta.url));
    proc = startPinned(name, cpus, process.execPath, [script, String(port)]);
  }
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${name} (${kind})`, async () => (await get(url + SMALL_PATH)).body === '20', 10_000);
    const big = await get(url + BIG_PATH);
    if (big.body.length !== BIG_BYTES) throw new Error(`${name}: GET ${BIG_PATH} returned ${big.body.length} bytes`);
  } catch (err) {
    await stop(proc, 2000);
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${proc.output()}`);
  }
  return { kind, url, proc };
}
