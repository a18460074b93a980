/**
 * Starts the built gateway (`dist/src/cli/main.js serve`) the way
 * ../shared/bench/run-peers.sh does: file provider, `web` and `traefik` entry
 * points on loopback, N workers, log level error, access log off. Checks that
 * the plain and the JWT routes answer before anything is measured.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPinned, waitFor, get, freePort, type Started } from './procs.js';
import { SMALL_PATH, BIG_PATH, BIG_BYTES } from './backend.js';
import { JWT_HOST } from './gateway-config.js';

export interface GatewayProc {
  readonly proc: Started;
  readonly url: string;
  readonly workers: number;
}

export interface GatewayStart {
  name: string;
  dir: string;
  yaml: string;
  workers: number;
  cpus: string | null;
  authorization: string;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** Extra gatehouse flags. */
  flags?: string[];
  /** The CLI entry to run (default: this build's). */
  bin?: string;
}

export function gatehouseBin(): string {
  return fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
}

/** The CLI entry of another checkout's build (`--baseline=DIR`), checked to exist. */
export function baselineBin(dir: string): string {
  const bin = resolve(dir, 'dist', 'src', 'cli', 'main.js');
  if (!existsSync(bin)) throw new Error(`--baseline: ${bin} does not exist; run \`npm ci && npm run build\` in ${resolve(dir)} first`);
  return bin;
}

export async function startGateway(o: GatewayStart): Promise<GatewayProc> {
  const home = join(o.dir, o.name);
  mkdirSync(join(home, 'conf'), { recursive: true });
  writeFileSync(join(home, 'conf', 'routes.yaml'), o.yaml);
  const port = await freePort();
  const admin = await freePort();
  const args = [
    ...(o.nodeArgs ?? []),
    o.bin ?? gatehouseBin(),
    'serve',
    `--providers.file.directory=${join(home, 'conf')}`,
    `--entrypoints.web.address=127.0.0.1:${port}`,
    `--entrypoints.traefik.address=127.0.0.1:${admin}`,
    `--dataDir=${join(home, 'data')}`,
    '--workers',
    String(o.workers),
    '--log.level=error',
    ...(o.flags ?? []),
  ];
  const proc = startPinned(o.name, o.cpus, process.execPath, args, { env: { ...process.env, NODE_ENV: 'production' }, cwd: home });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(o.name, async () => (await get(url + SMALL_PATH)).body === '20', 20_000);
    const big = await get(url + BIG_PATH);
    if (big.body.length !== BIG_BYTES) throw new Error(`GET ${BIG_PATH} returned ${big.body.length} bytes, expected ${BIG_BYTES}`);
    const denied = await get(url + SMALL_PATH, { host: JWT_HOST });
    if (denied.status !== 401) throw new Error(`JWT route without a token answered ${denied.status}, expected 401`);
    await waitFor(
      `${o.name} JWT route`,
      async () => {
        const ok = await get(url + SMALL_PATH, { host: JWT_HOST, authorization: o.authorization });
        return ok.status === 200 && ok.body === '20';
      },
      10_000,
    );
  } catch (err) {
    proc.child.kill('SIGKILL');
    throw new Error(`${o.name}: ${err instanceof Error ? err.message : String(err)}\n${proc.output()}`);
  }
  return { proc, url, workers: o.workers };
}
