/**
 * `gatehouse demo` (and `npm start`): the whole seed scenario on this machine.
 * Starts calculator replicas on loopback addresses, writes the seed's
 * Kubernetes objects into a configuration directory, runs the gateway on
 * :8000 (admin API on 127.0.0.1:8080), drives add-cli traffic through it and
 * prints curl lines that work as printed. Ctrl-C stops everything.
 */
import { EXIT } from './exit-codes.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { createLogger } from '../log.js';
import { startAddServer, type RunningAddServer } from '../demo/add-server.js';
import { runAddCli, formatReport, clientCredentialsTokenProvider } from '../demo/add-cli.js';
import {
  IDENTITY_YAML,
  protectedCalcYaml,
  TENANT_ID,
  CLIENT_APP_ID,
  SCOPE,
  CLIENT_SECRET_ENV,
  OTHER_SECRET_ENV,
} from '../demo/identity-scenario.js';
import { SEED_CALC_YAML, LOCAL_CALC_YAML, addServiceYaml, adminYaml } from '../demo/scenario.js';
import { serve } from '../server/serve.js';
import { loadServeOptions } from './serve-command.js';

interface DemoFlags {
  port: number;
  adminPort: number;
  replicas: number;
  rate: number;
  workers: number | null;
  dataDir: string;
  quiet: boolean;
}

function parseDemoFlags(argv: string[]): DemoFlags {
  const f: DemoFlags = { port: 8000, adminPort: 8080, replicas: 3, rate: 20, workers: null, dataDir: resolve('.gatehouse'), quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [k, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const val = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`flag ${k} needs a value`);
      return v;
    };
    const num = (): number => {
      const v = val();
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new Error(`flag ${k}: expected a non-negative integer, got "${v}"`);
      return n;
    };
    switch (k.toLowerCase()) {
      case '--port':
        f.port = num();
        break;
      case '--admin-port':
        f.adminPort = num();
        break;
      case '--replicas':
        f.replicas = Math.max(1, num());
        break;
      case '--rate':
        f.rate = num();
        break;
      case '--workers':
        f.workers = Math.max(1, num());
        break;
      case '--datadir':
        f.dataDir = resolve(val());
        break;
      case '--quiet':
        f.quiet = true;
        break;
      case '--help':
      case '-h':
        console.log(
          'usage: gatehouse demo [--port 8000] [--admin-port 8080] [--replicas 3] [--rate 20] [--workers N] [--datadir DIR] [--quiet]',
        );
        process.exit(0);
        break;
      default:
        throw new Error(`unknown demo flag ${k} (known: --port --admin-port --replicas --rate --workers --datadir --quiet)`);
    }
  }
  return f;
}

export async function demoMain(argv: string[]): Promise<number> {
  const f = parseDemoFlags(argv);
  const log = createLogger('warn');
  const dir = join(f.dataDir, 'demo', 'config');
  mkdirSync(dir, { recursive: true });

  // 1. Calculator replicas on loopback addresses 127.0.0.2, .3, … (any 127/8 address is local on Linux).
  const replicas: RunningAddServer[] = [];
  for (let i = 0; i < f.replicas; i++) {
    replicas.push(await startAddServer({ host: `127.0.0.${2 + i}`, httpPort: 0, grpcPort: 0, name: `add-${i + 1}` }));
  }
  const eps = replicas.map((r) => {
    const u = new URL(r.httpUrl);
    return { host: u.hostname, port: Number(u.port) };
  });

  // 2. Configuration: the seed's objects + Service/Endpoints + admin behind basicAuth.
  const adminPassword = randomBytes(9).toString('base64url');
  writeFileSync(join(dir, '10-seed-calc.yaml'), SEED_CALC_YAML);
  writeFileSync(join(dir, '11-local-calc.yaml'), LOCAL_CALC_YAML);
  writeFileSync(join(dir, '20-add-svc.yaml'), addServiceYaml(eps));
  writeFileSync(join(dir, '30-admin.yaml'), adminYaml(`admin:${bcrypt.hashSync(adminPassword, 10)}`));
  // The seed's Azure AD + APIM flow: tenant, API app, client apps; a JWT-protected calculator route.
  const clientSecret = process.env[CLIENT_SECRET_ENV] ?? randomBytes(24).toString('base64url');
  process.env[CLIENT_SECRET_ENV] = clientSecret;
  process.env[OTHER_SECRET_ENV] ??= randomBytes(24).toString('base64url');
  const issuer = `http://127.0.0.1:${f.adminPort}`;
  writeFileSync(join(dir, '40-identity.yaml'), IDENTITY_YAML);
  writeFileSync(
    join(dir, '41-calc-secure.yaml'),
    protectedCalcYaml(issuer, 'calc-replicas') +
      `  services:\n    calc-replicas:\n      loadBalancer:\n        healthCheck: { path: /healthz, interval: 5s, timeout: 2s }\n        servers:\n${eps.map((e) => `          - url: http://${e.host}:${e.port}\n`).join('')}`,
  );

  // 3. The gateway, with the seed's container arguments.
  const o = loadServeOptions([
    '--api',
    '--accesslog=false',
    `--entrypoints.web.Address=:${f.port}`,
    '--entrypoints.web.forwardedheaders.insecure=true',
    '--providers.kubernetescrd',
    '--ping',
    '--log=true',
    '--log.level=WARN',
    `--entrypoints.traefik.address=127.0.0.1:${f.adminPort}`,
    '--api.insecure',
    '--identity.insecure',
    `--identity.issuerbaseurl=${issuer}`,
    '--metrics.prometheus',
    `--providers.file.directory=${dir}`,
    '--providers.file.watch',
    `--datadir=${f.dataDir}`,
    ...(f.workers !== null ? [`--workers=${f.workers}`] : []),
  ]);
  if (o === null) return EXIT.USAGE;
  const gw = await serve(o, { log });
  const web = gw.addresses.web!;
  const port = web.port;

  // 4. add-cli traffic through the gateway.
  const ac = new AbortController();
  const getToken = clientCredentialsTokenProvider({
    tokenUrl: `${issuer}/${TENANT_ID}/oauth2/v2.0/token`,
    clientId: CLIENT_APP_ID,
    clientSecret,
    scope: SCOPE,
  });
  const cli = runAddCli({
    server: `http://127.0.0.1:${port}/secure`,
    getToken,
    rate: f.rate,
    concurrency: 4,
    signal: ac.signal,
    reportIntervalMs: 5000,
    onReport: (r) => {
      if (!f.quiet) console.log(`add-cli  ${formatReport(r)}`);
    },
  });

  console.log(`
Gatehouse demo is up: ${replicas.length} calculator replicas behind the gateway, add-cli sending ${f.rate} req/s
with a client-credentials token to the JWT-protected route.

The seed's route (headers middleware adds l5d-dst-override):
  curl http://localhost:${port}/add/10/10
  curl -H 'Host: calc.1.1.1.1.xip.io' http://127.0.0.1:${port}/add/10/10
  curl http://calc.127.0.0.1.nip.io:${port}/add/10/10        (needs DNS for nip.io)

The seed's token flow (built-in issuer) and the validateJwt-protected route:
  export ${CLIENT_SECRET_ENV}='${clientSecret}'
  TOKEN=$(curl -s -d "grant_type=client_credentials&client_id=${CLIENT_APP_ID}&client_secret=$${CLIENT_SECRET_ENV}&scope=${encodeURIComponent(SCOPE)}" ${issuer}/${TENANT_ID}/oauth2/v2.0/token | sed 's/.*"access_token":"\\([^"]*\\)".*/\\1/')
  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:${port}/secure/add/10/10
  curl -i http://127.0.0.1:${port}/secure/add/10/10           (401: JWT not present.)
  (or: npx gatehouse token --url ${issuer} --tenant ${TENANT_ID} --client-id ${CLIENT_APP_ID} --client-secret-env ${CLIENT_SECRET_ENV} --scope ${SCOPE} --decode)

  admin API (loopback only):   curl http://127.0.0.1:${f.adminPort}/api/http/routers
  dashboard:                   http://127.0.0.1:${f.adminPort}/dashboard/
  admin through the gateway:   curl -u admin:${adminPassword} -H 'Host: admin.127.0.0.1.nip.io' http://127.0.0.1:${port}/api/overview
  ping:                        curl http://127.0.0.1:${f.adminPort}/ping
  Prometheus metrics:          curl http://127.0.0.1:${f.adminPort}/metrics

Configuration (edit it: changes apply within a second): ${dir}
Press Ctrl-C to stop.
`);

  await new Promise<void>((resolveStop) => {
    const stop = (): void => resolveStop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  console.log('\nstopping…');
  ac.abort();
  await cli.catch(() => undefined);
  await gw.close();
  await Promise.all(replicas.map((r) => r.close()));
  return EXIT.OK;
}
