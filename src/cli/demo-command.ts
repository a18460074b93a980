/**
 * `gatehouse demo` (and `npm start`): the whole seed scenario on this machine.
 * Starts calculator replicas on loopback addresses, writes the seed's
 * Kubernetes objects, the identity setup and the calculator's alert rules
 * into a configuration directory, runs the gateway on :8000 (admin API on
 * 127.0.0.1:8080), drives add-cli traffic through it and prints, once, the
 * commands to try. Lines typed on stdin stop and start replicas (`stop 2`,
 * `start 2`) so the alert rules can be seen firing. Ctrl-C stops everything.
 */
import { EXIT } from './exit-codes.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import bcrypt from 'bcryptjs';
import { createLogger } from '../log.js';
import { startAddServer, type RunningAddServer } from '../demo/add-server.js';
import { runAddCli, clientCredentialsTokenProvider } from '../demo/add-cli.js';
import {
  IDENTITY_YAML,
  protectedCalcYaml,
  TENANT_ID,
  CLIENT_APP_ID,
  OTHER_APP_ID,
  SCOPE,
  CLIENT_SECRET_ENV,
  OTHER_SECRET_ENV,
} from '../demo/identity-scenario.js';
import { SEED_CALC_YAML, LOCAL_CALC_YAML, addServiceYaml, adminYaml, calcAlertsYaml, CALC_ALERTS } from '../demo/scenario.js';
import { serve } from '../server/serve.js';
import { loadServeOptions } from './serve-command.js';
import { wantsHelp } from './wants-help.js';

export const DEMO_USAGE = `usage: gatehouse demo [--port 8000] [--admin-port 8080] [--replicas 3] [--rate 20] [--workers N] [--datadir DIR] [--quiet]

Runs the seed scenario on this machine: calculator replicas on 127.0.0.2, .3, …,
the gateway with the seed's IngressRoute and Middleware objects, the identity
setup (tenant, API app, a granted and a not-granted client), a JWT-protected
route, alert rules on the calculator, and add-cli calling it. Prints the
commands to try once. Type "stop N" / "start N" (Enter) to stop or start
replica add-N and watch the success-rate alert fire. Ctrl-C stops everything.

flags:
  --port N          the gateway's web entry point (default 8000)
  --admin-port N    admin API, dashboard, token issuer and metrics on 127.0.0.1 (default 8080)
  --replicas N      calculator replicas (default 3)
  --rate N          add-cli requests per second (default 20; 0 = no add-cli traffic)
  --workers N       gateway worker processes (default: one per CPU)
  --datadir DIR     where the configuration and keys go (default ./.gatehouse)
  --quiet           print one line instead of the commands to try
  -h, --help        this text
`;

interface DemoFlags {
  port: number;
  adminPort: number;
  replicas: number;
  rate: number;
  workers: number | null;
  dataDir: string;
  quiet: boolean;
}

class DemoUsageError extends Error {}

function parseDemoFlags(argv: string[]): DemoFlags {
  const f: DemoFlags = { port: 8000, adminPort: 8080, replicas: 3, rate: 20, workers: null, dataDir: resolve('.gatehouse'), quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const [k, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const val = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new DemoUsageError(`flag ${k} needs a value`);
      return v;
    };
    const num = (min: number, max: number): number => {
      const v = val();
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < min || n > max)
        throw new DemoUsageError(`flag ${k}: expected an integer from ${min} to ${max}, got "${v}"`);
      return n;
    };
    switch (k.toLowerCase()) {
      case '--port':
        f.port = num(1, 65535);
        break;
      case '--admin-port':
        f.adminPort = num(1, 65535);
        break;
      case '--replicas':
        f.replicas = num(1, 200);
        break;
      case '--rate':
        f.rate = num(0, 100_000);
        break;
      case '--workers':
        f.workers = num(1, 256);
        break;
      case '--datadir':
        f.dataDir = resolve(val());
        break;
      case '--quiet':
        f.quiet = true;
        break;
      default:
        throw new DemoUsageError(`unknown demo flag ${k} (known: --port --admin-port --replicas --rate --workers --datadir --quiet)`);
    }
  }
  return f;
}

/** The token request of the seed, as a shell line that sets `var` to the access token. */
function tokenLine(issuer: string, clientId: string, secretEnv: string, variable: string): string {
  return `${variable}=$(curl -s -d "grant_type=client_credentials&client_id=${clientId}&client_secret=$${secretEnv}&scope=${encodeURIComponent(SCOPE)}" ${issuer}/${TENANT_ID}/oauth2/v2.0/token | sed 's/.*"access_token":"\\([^"]*\\)".*/\\1/')`;
}

export interface DemoBanner {
  port: number;
  adminPort: number;
  replicas: readonly RunningAddServer[];
  rate: number;
  clientSecret: string;
  otherSecret: string;
  adminPassword: string;
  dir: string;
}

/** What the demo prints once it is up: every command works as printed. */
export function demoBanner(b: DemoBanner): string {
  const issuer = `http://127.0.0.1:${b.adminPort}`;
  const web = `http://127.0.0.1:${b.port}`;
  const admin = `--admin ${issuer}`;
  const traffic = b.rate > 0 ? `, add-cli calling the JWT-protected route ${b.rate} times a second` : '';
  return `Gatehouse demo: ${b.replicas.length} calculator replicas behind the gateway on :${b.port}${traffic}.

The seed's route (its headers middleware adds l5d-dst-override):
  curl http://localhost:${b.port}/add/10/10                                    # 20
  curl -H 'Host: calc.1.1.1.1.xip.io' ${web}/add/10/10

The seed's token flow (built-in issuer) and the validateJwt-protected route:
  curl -i ${web}/secure/add/10/10                                # 401 JWT not present.
  export ${CLIENT_SECRET_ENV}='${b.clientSecret}'      # add-cli: granted invokeRole
  ${tokenLine(issuer, CLIENT_APP_ID, CLIENT_SECRET_ENV, 'TOKEN')}
  curl -H "Authorization: Bearer $TOKEN" ${web}/secure/add/10/10           # 20
A client that is not granted invokeRole (application "not-granted"): it gets a token, the route refuses it:
  export ${OTHER_SECRET_ENV}='${b.otherSecret}'
  ${tokenLine(issuer, OTHER_APP_ID, OTHER_SECRET_ENV, 'OTHER')}
  curl -i -H "Authorization: Bearer $OTHER" ${web}/secure/add/10/10        # 401: the roles claim lacks invokeRole
  (or: npx gatehouse token --url ${issuer} --tenant ${TENANT_ID} --client-id ${CLIENT_APP_ID} --client-secret-env ${CLIENT_SECRET_ENV} --scope ${SCOPE} --decode)

Live views:
  npx gatehouse stat routers ${admin}
  npx gatehouse stat callers ${admin}
  npx gatehouse tap --router calc-secure@file ${admin}
  npx gatehouse alerts ${admin}           # ${CALC_ALERTS.successRate}, ${CALC_ALERTS.latency}
  dashboard: ${issuer}/dashboard/

Alerts: type "stop 2" and Enter to stop replica add-2: its calls fail until the health
check takes it out, and ${CALC_ALERTS.successRate} fires within about 20 s. "start 2" brings it back.

Admin API (loopback only):  curl ${issuer}/api/overview
Through the gateway:        curl -u admin:${b.adminPassword} -H 'Host: admin.127.0.0.1.nip.io' ${web}/api/overview
Ping, metrics:              curl ${issuer}/ping; curl ${issuer}/metrics

Configuration (edit it: changes apply within a second): ${b.dir}
Ctrl-C stops everything.
`;
}

/** `stop N` / `start N` on stdin: stop or restart replica add-N on its address. */
function replicaControl(replicas: RunningAddServer[], print: (s: string) => void): () => void {
  const rl = createInterface({ input: process.stdin, terminal: false });
  const addresses = replicas.map((r) => {
    const u = new URL(r.httpUrl);
    const g = r.grpcAddress === null ? null : Number(r.grpcAddress.slice(r.grpcAddress.lastIndexOf(':') + 1));
    return { host: u.hostname, port: Number(u.port), grpcPort: g, name: r.name };
  });
  let busy: Promise<void> = Promise.resolve();
  rl.on('line', (line) => {
    const m = /^\s*(stop|start)\s+(\d+)\s*$/i.exec(line);
    if (line.trim() === '') return;
    const n = m === null ? NaN : Number(m[2]);
    if (m === null || !(n >= 1 && n <= replicas.length)) {
      print(`expected "stop N" or "start N" with N from 1 to ${replicas.length}\n`);
      return;
    }
    const i = n - 1;
    const a = addresses[i]!;
    busy = busy.then(async () => {
      if (m[1]!.toLowerCase() === 'stop') {
        await replicas[i]!.close();
        print(`replica ${a.name} (${a.host}:${a.port}) stopped\n`);
      } else {
        try {
          replicas[i] = await startAddServer({ host: a.host, httpPort: a.port, grpcPort: a.grpcPort, name: a.name });
          print(`replica ${a.name} (${a.host}:${a.port}) started\n`);
        } catch (err) {
          print(`replica ${a.name}: ${err instanceof Error ? err.message : String(err)} (is it running already?)\n`);
        }
      }
    });
  });
  return () => rl.close();
}

export async function demoMain(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(DEMO_USAGE);
    return EXIT.OK;
  }
  let f: DemoFlags;
  try {
    f = parseDemoFlags(argv);
  } catch (err) {
    if (!(err instanceof DemoUsageError)) throw err;
    console.error(`gatehouse demo: ${err.message}`);
    return EXIT.USAGE;
  }
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
  const otherSecret = (process.env[OTHER_SECRET_ENV] ??= randomBytes(24).toString('base64url'));
  const issuer = `http://127.0.0.1:${f.adminPort}`;
  writeFileSync(join(dir, '40-identity.yaml'), IDENTITY_YAML);
  writeFileSync(
    join(dir, '41-calc-secure.yaml'),
    protectedCalcYaml(issuer, 'calc-replicas') +
      `  services:\n    calc-replicas:\n      loadBalancer:\n        healthCheck: { path: /healthz, interval: 5s, timeout: 2s }\n        servers:\n${eps.map((e) => `          - url: http://${e.host}:${e.port}\n`).join('')}`,
  );
  // The seed's Azure Monitor alerts: success rate and latency of the calculator add-cli calls.
  writeFileSync(join(dir, '50-calc-alerts.yaml'), calcAlertsYaml('calc-replicas@file'));

  // 3. The gateway, with the seed's container arguments. `--providers.kubernetescrd` is left out:
  // it needs an API server this build cannot watch yet (the objects come from the file provider
  // either way), and its warning would be the first thing the demo prints.
  const o = loadServeOptions([
    '--api',
    '--accesslog=false',
    `--entrypoints.web.Address=:${f.port}`,
    '--entrypoints.web.forwardedheaders.insecure=true',
    '--ping',
    '--log=true',
    '--log.level=WARN',
    `--entrypoints.traefik.address=127.0.0.1:${f.adminPort}`,
    '--api.insecure',
    '--api.dashboard',
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
  const port = gw.addresses.web!.port;

  // 4. add-cli traffic through the gateway, silently: its figures are in stat, top, tap and the dashboard.
  const ac = new AbortController();
  const cli =
    f.rate > 0
      ? runAddCli({
          server: `http://127.0.0.1:${port}/secure`,
          getToken: clientCredentialsTokenProvider({
            tokenUrl: `${issuer}/${TENANT_ID}/oauth2/v2.0/token`,
            clientId: CLIENT_APP_ID,
            clientSecret,
            scope: SCOPE,
          }),
          rate: f.rate,
          concurrency: 4,
          signal: ac.signal,
        })
      : Promise.resolve(null);

  const print = (s: string): void => void process.stdout.write(s);
  if (f.quiet) print(`Gatehouse demo up: gateway ${`http://127.0.0.1:${port}`}, admin ${issuer}, configuration ${dir}\n`);
  else print(demoBanner({ port, adminPort: f.adminPort, replicas, rate: f.rate, clientSecret, otherSecret, adminPassword, dir }));
  const closeControl = replicaControl(replicas, print);

  await new Promise<void>((resolveStop) => {
    const stop = (): void => resolveStop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  print('\nstopping…\n');
  closeControl();
  ac.abort();
  const total = await cli.catch(() => null);
  await gw.close();
  await Promise.all(replicas.map((r) => r.close()));
  if (total !== null) print(`add-cli made ${total.ok + total.failed} calls, ${total.failed} failed\n`);
  return EXIT.OK;
}
