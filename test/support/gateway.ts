/**
 * Starts the real gateway in-process (serve(), the same composition root as
 * `gatehouse serve`) on loopback with a temporary configuration directory.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStaticConfig } from '../../src/config/static.js';
import { serveOptionsFromStatic } from '../../src/server/options-from-static.js';
import { serve, type RunningGatehouse } from '../../src/server/serve.js';
import { createLogger, silentLogger } from '../../src/log.js';

export interface TestGateway {
  /** http://127.0.0.1:<web port> */
  url: string;
  port: number;
  /** http://127.0.0.1:<traefik port> */
  admin: string;
  dir: string;
  running: RunningGatehouse;
  /** Write (atomically) a configuration file into the watched directory. */
  write(name: string, content: string): void;
  close(): Promise<void>;
}

export async function startGateway(
  opts: {
    files?: Record<string, string>;
    flags?: string[];
    workers?: number;
    adminEntryPoint?: boolean;
    /** Address of the `web` entry point (default 127.0.0.1:0). */
    webAddress?: string;
  } = {},
): Promise<TestGateway> {
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
  const dir = join(root, 'conf');
  const data = join(root, 'data');
  mkdirSync(dir, { recursive: true });
  const write = (name: string, content: string): void => {
    const tmp = join(root, `.${name}.tmp`);
    writeFileSync(tmp, content);
    renameSync(tmp, join(dir, name));
  };
  for (const [n, c] of Object.entries(opts.files ?? {})) write(n, c);
  const argv = [
    `--entrypoints.web.address=${opts.webAddress ?? '127.0.0.1:0'}`,
    ...(opts.adminEntryPoint === false ? [] : ['--entrypoints.traefik.address=127.0.0.1:0']),
    `--providers.file.directory=${dir}`,
    '--providers.file.watch',
    '--providers.providersThrottleDuration=0s',
    `--workers=${opts.workers ?? 1}`,
    '--log.level=ERROR',
    `--datadir=${data}`,
    ...(opts.flags ?? []),
  ];
  const cfg = parseStaticConfig({ argv, env: {}, cwd: root });
  const o = serveOptionsFromStatic(cfg, root);
  const running = await serve(o, { log: process.env.GATEHOUSE_TEST_LOG === '1' ? createLogger('debug') : silentLogger });
  const web = running.addresses.web!;
  const adm = running.addresses.traefik;
  return {
    url: `http://127.0.0.1:${web.port}`,
    port: web.port,
    admin: adm !== undefined ? `http://127.0.0.1:${adm.port}` : '',
    dir,
    running,
    write,
    async close() {
      await running.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Poll `fn` until it returns true or `ms` pass. */
export async function eventually(fn: () => Promise<boolean> | boolean, ms = 3000, step = 50): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, step));
  }
  return fn();
}

/** Listen on 127.0.0.1:<free port>; resolves to the port. */
export async function listenLoopback(server: import('node:net').Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as import('node:net').AddressInfo).port;
}
