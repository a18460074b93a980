/**
 * The container image's runtime tree, assembled without a container runtime
 * (base images cannot be pulled here): build as the Dockerfile's build stage
 * does (tsc), `npm pack` (package.json "files" decides what ships), install
 * the tarball with production dependencies only into an empty folder, then
 * run the gateway from that tree with the Dockerfile's ENV, ENTRYPOINT and
 * CMD, and ask /ping with the Dockerfile's HEALTHCHECK command.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { eventually, listenLoopback } from './support/gateway.js';

const ROOT = resolve('.');

async function freePort(): Promise<number> {
  const s = createServer();
  const port = await listenLoopback(s);
  await new Promise((r) => s.close(r));
  return port;
}

/** The Dockerfile's runtime stage: ENV pairs, ENTRYPOINT, CMD and the HEALTHCHECK command (exec form). */
function dockerfileRuntime(): { env: Record<string, string>; entrypoint: string[]; cmd: string[]; healthcheck: string[] } {
  const text = readFileSync('Dockerfile', 'utf8').replace(/\\\n/g, ' ');
  const stage = text.slice(text.search(/^FROM .* AS runtime$/m));
  const env: Record<string, string> = {};
  for (const m of stage.matchAll(/^ENV (.*)$/gm))
    for (const kv of m[1]!.trim().split(/\s+/)) env[kv.split('=')[0]!] = kv.slice(kv.indexOf('=') + 1);
  const json = (re: RegExp): string[] => JSON.parse(stage.match(re)![1]!) as string[];
  return {
    env,
    entrypoint: json(/^ENTRYPOINT (\[.*\])$/m),
    cmd: json(/^CMD (\[.*\])$/m),
    healthcheck: json(/^HEALTHCHECK .*?CMD (\[.*\])$/m),
  };
}

test(
  'the packed runtime tree (production dependencies only) serves /ping and a route, as the image would',
  { timeout: 240_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-image-'));
    const upstream: Server = createServer((req, res) => res.end(`hello from upstream ${req.url}`));
    t.after(() => {
      upstream.close();
      rmSync(dir, { recursive: true, force: true });
    });

    // Build stage: compile into a staging copy of the package (the checkout's dist/ is left alone).
    const stage = join(dir, 'stage');
    mkdirSync(stage);
    const tsc = spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--outDir', join(stage, 'dist')],
      {
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    assert.equal(tsc.status, 0, `the build stage compiles:\n${tsc.stdout}${tsc.stderr}`);
    assert.ok(existsSync(join(stage, 'dist/src/cli/main.js')), 'tsc emitted the entry point');
    for (const f of ['package.json', 'package-lock.json', 'README.md', 'docs', 'proto', 'web'])
      cpSync(f, join(stage, f), { recursive: true });
    const packed = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: stage,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const info = JSON.parse(packed) as { filename: string; files: { path: string }[] }[];
    const files = info[0]!.files.map((f) => f.path);
    assert.ok(files.includes('dist/src/cli/main.js'));
    assert.ok(
      files.some((f) => f.startsWith('proto/')),
      'proto/ ships (gRPC reflection and health)',
    );
    assert.ok(
      files.some((f) => f.startsWith('dist/web/')),
      'the dashboard (compiled from web/) ships',
    );
    assert.ok(!files.some((f) => f.endsWith('.test.js') || f.startsWith('test/') || f.startsWith('src/')), 'no tests or sources ship');

    // Runtime stage: an empty folder, the tarball, production dependencies only (from npm's cache
    // where `npm ci` filled it; the registry otherwise).
    const app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), '{ "name": "runtime", "private": true }\n');
    execFileSync(
      'npm',
      ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', join(dir, info[0]!.filename)],
      {
        cwd: app,
        encoding: 'utf8',
        timeout: 150_000,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const modules = readdirSync(join(app, 'node_modules'));
    for (const devOnly of ['typescript', 'tsx', 'eslint', 'prettier', 'fast-check', 'playwright-core']) {
      assert.ok(!modules.includes(devOnly), `${devOnly} (a dev dependency) is not in the runtime tree`);
    }
    const pkgDir = join(app, 'node_modules/gatehouse');

    // Run it as the container does: WORKDIR is the package, ENV from the Dockerfile, ENTRYPOINT + CMD (+ flags for free ports).
    const docker = dockerfileRuntime();
    assert.deepEqual(docker.entrypoint, ['node', 'dist/src/cli/main.js']);
    assert.deepEqual(docker.cmd, ['serve']);
    const upPort = await listenLoopback(upstream);
    const web = await freePort();
    const admin = await freePort();
    const dyn = join(dir, 'dynamic.yaml');
    writeFileSync(
      dyn,
      `http:\n  routers:\n    hello:\n      rule: PathPrefix(\`/hello\`)\n      service: up\n  services:\n    up:\n      loadBalancer:\n        servers:\n          - url: http://127.0.0.1:${upPort}\n`,
    );
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, ...docker.env };
    env.GATEHOUSE_DATADIR = join(dir, 'data'); // the image's /var/lib/gatehouse
    const child = spawn(
      process.execPath,
      [
        docker.entrypoint[1]!,
        ...docker.cmd,
        `--entrypoints.web.address=127.0.0.1:${web}`,
        `--entrypoints.traefik.address=127.0.0.1:${admin}`,
        `--providers.file.filename=${dyn}`,
        '--workers=1',
      ],
      { cwd: pkgDir, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const get = async (port: number, path: string): Promise<{ status: number; body: string } | null> => {
      try {
        const r = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
        return { status: r.status, body: await r.text() };
      } catch {
        return null;
      }
    };
    assert.ok(await eventually(async () => (await get(admin, '/ping'))?.status === 200, 30_000, 200), `no /ping 200:\n${output}`);
    assert.ok(await eventually(async () => (await get(web, '/hello/x'))?.status === 200, 10_000, 100), output);
    assert.equal((await get(web, '/hello/x'))!.body, 'hello from upstream /hello/x');
    assert.equal((await get(web, '/nothing'))!.status, 404);

    // The HEALTHCHECK, as Docker would run it (node only, no curl), pointed at this admin port.
    const hc = docker.healthcheck.map((a) => a.replace('127.0.0.1:8080', `127.0.0.1:${admin}`));
    assert.equal(hc[0], 'node');
    const healthy = spawnSync(process.execPath, hc.slice(1), { cwd: pkgDir, timeout: 10_000 });
    assert.equal(healthy.status, 0, 'HEALTHCHECK passes on a running gateway');

    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000))]);
    assert.notEqual(code, 'timeout', 'the gateway stops on SIGTERM');
    const down = spawnSync(process.execPath, hc.slice(1), { cwd: pkgDir, timeout: 10_000 });
    assert.equal(down.status, 1, 'HEALTHCHECK fails when the gateway is down');
  },
);
