/**
 * A real redis-server for tests: started on a free loopback port with no
 * persistence, optionally with `requirepass`; stopped and restarted on the
 * same port (Redis down mid-test, then back).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestRedis {
  readonly port: number;
  readonly endpoint: string;
  /** Stop the server (SIGTERM; SIGKILL after 3 s). */
  stop(): Promise<void>;
  /** Start it again on the same port (empty: nothing is persisted). */
  start(): Promise<void>;
  /** Send one command (RESP) and resolve the raw reply text. */
  command(...args: string[]): Promise<string>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as import('node:net').AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function resp(args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** One command over a fresh connection; resolves the first reply chunk (enough for the small replies tests use). */
function rawCommand(port: number, password: string | null, args: string[], timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`redis command ${args[0]} timed out`));
    }, timeoutMs);
    let buf = '';
    let skip = password !== null ? 1 : 0;
    sock.on('data', (d) => {
      buf += d.toString();
      while (skip > 0 && buf.includes('\r\n')) {
        buf = buf.slice(buf.indexOf('\r\n') + 2);
        skip--;
      }
      if (skip === 0 && buf.length > 0) {
        clearTimeout(timer);
        sock.end();
        resolve(buf);
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('connect', () => sock.write((password !== null ? resp(['AUTH', password]) : '') + resp(args)));
  });
}

export async function startRedis(opts: { password?: string } = {}): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-'));
  const password = opts.password ?? null;
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--daemonize',
      'no',
      ...(password !== null ? ['--requirepass', password] : []),
    ];
    const c = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const end = Date.now() + 10_000;
    for (;;) {
      if (c.exitCode !== null) throw new Error(`redis-server exited (${c.exitCode}): ${out.slice(-500)}`);
      try {
        const pong = await rawCommand(port, password, ['PING'], 500);
        if (pong.startsWith('+PONG')) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > end) throw new Error(`redis-server did not answer on ${port} within 10 s: ${out.slice(-500)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const stop = async (): Promise<void> => {
    const c = child;
    child = null;
    if (c === null || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  };

  await start();
  return {
    port,
    endpoint: `127.0.0.1:${port}`,
    stop,
    start,
    command: (...args) => rawCommand(port, password, args),
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
