/**
 * `gatehouse demo` (and `npm start`): the whole seed scenario on this machine.
 * Starts calculator replicas on loopback addresses, writes the seed's
 * Kubernetes objects, the identity setup and the calculator's alert rules
 * into a configuration directory, runs the gateway on :8000 (admin API on
 * 127.0.0.1:8080), drives add-cli traffic through it and prints, once, the
 * commands to try. Lines typed on stdin stop and start replicas (`stop 2`,
 * `start 2`) so the alert rules can be seen firing, and whole regions
 * (`stop west`, `start west`) so the two-region priority failover on
 * `/global/…` can be seen moving traffic. Ctrl-C stops everything.
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
import {
  SEED_CALC_YAML,
  LOCAL_CALC_YAML,
  addServiceYaml,
  adminYaml,
  calcAlertsYaml,
  globalCalcYaml,
  CALC_ALERTS,
  FAILOVER,
} from '../demo/scenario.js';
import { serve } from '../server/serve.js';
import { loadServeOptions } from './serve-command.js';
import { wantsHelp } from './wants-help.js';

export const DEMO_USAGE = `usage: gatehouse demo [--port 8000] [--admin-port 8080] [--replicas 3] [--east-replicas 2] [--rate 20] [--workers N] [--datadir DIR] [--quiet]

Runs the seed scenario on this machine: calculator replicas on 127.0.0.2, .3, …,
the gateway with the seed's IngressRoute and Middleware objects, the identity
setup (tenant, API app, a granted and a not-granted client), a JWT-protected
route, alert rules on the calculator, and add-cli calling it. Prints the
commands to try once. Type "stop N" / "start N" (Enter) to stop or start
replica add-N and watch the success-rate alert fire.

Two regions: the replicas above are region west (priority 1); region east
(priority 2) is more calculator replicas on 127.0.1.2, .3, …; one load balancer
over both answers on /global/… Type "stop west" / "start west" to watch the
traffic move to east and back. Ctrl-C stops everything.

flags:
  --port N          the gateway's web entry point (default 8000)
  --admin-port N    admin API, dashboard, token issuer and metrics on 127.0.0.1 (default 8080)
  --replicas N      calculator replicas, region west (default 3)
  --east-replicas N calculator replicas of region east, the failover region (default 2)
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
  eastReplicas: number;
  rate: number;
  workers: number | null;
  dataDir: string;
  quiet: boolean;
}

class DemoUsageError extends Error {}

function parseDemoFlags(argv: string[]): DemoFlags {
  const f: DemoFlags = {
    port: 8000,
    adminPort: 8080,
    replicas: 3,
    eastReplicas: 2,
    rate: 20,
    workers: null,
    dataDir: resolve('.gatehouse'),
    quiet: false,
  };
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
      case '--east-replicas':
        f.eastReplicas = num(1, 200);
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
        throw new DemoUsageError(
          `unknown demo flag ${k} (known: --port --admin-port --replicas --east-replicas --rate --workers --datadir --quiet)`,
        );
    }
  }
  return f;
}

/** The token request of the seed, as a shell line that sets `var` to the access token. */
function tokenLine(issuer: string, clientId: string, secretEnv: string, variable: string): string {
  return `${variable}=$(curl -s -d "grant_type=client_credentials&client_id=${clientId}&client_secret=$${secretEnv}&scope=${encodeURIComponent(SCOPE)}" ${issuer}/${TENANT_ID}/oauth2/v2.0/token | sed 's/.*"access_token":"\\([^"]*\\)".*/\\1/')`;
}

/** A region of the failover view: its priority and its replicas' names. */
export interface BannerRegion {
  name: string;
  priority: number;
  replicas: readonly string[];
  /** Where its replicas listen, for the banner (e.g. "127.0.1.x"). */
  addresses: string;
}

export interface DemoBanner {
  port: number;
  adminPort: number;
  replicas: readonly RunningAddServer[];
  /** The failover view's regions, best priority first. */
  regions: readonly BannerRegion[];
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
${failoverSection(b, web, admin)}
Admin API (loopback only):  curl ${issuer}/api/overview
Through the gateway:        curl -u admin:${b.adminPassword} -H 'Host: admin.127.0.0.1.nip.io' ${web}/api/overview
Ping, metrics:              curl ${issuer}/ping; curl ${issuer}/metrics

Configuration (edit it: changes apply within a second): ${b.dir}
Ctrl-C stops everything.
`;
}

/** The failover view's lines of the banner: the regions, the commands, stop/start of a region. */
function failoverSection(b: DemoBanner, web: string, admin: string): string {
  const [first, second] = b.regions;
  if (first === undefined || second === undefined) return '';
  const url = `${web}${FAILOVER.prefix}/add/1/2`;
  const show = `curl -s -w ' %header{x-add-region} %header{x-add-replica}\\n' ${url}`;
  const regions = b.regions
    .map((r) => `region ${r.name} = ${r.replicas.join(', ')} on ${r.addresses} (priority ${r.priority})`)
    .join(',\n');
  return `
Two regions, priority failover (Front Door's origin group, docs/failover.md):
${regions},
behind one load balancer, ${FAILOVER.service}@file, probing /healthz every ${FAILOVER.interval}:
  ${show}    # 3 ${first.name} ${first.replicas[0] ?? ''}
  while sleep 0.5; do ${show}; done
  npx gatehouse stat services ${FAILOVER.service}@file ${admin}     # DOWN SERVERS: which, and why
Failover: type "stop ${first.name}" and Enter: within about 2 s every answer comes from ${second.name}.
"start ${first.name}" brings the traffic back ("stop ${second.name}", "start ${second.name}" work too).
`;
}

type RegionName = 'west' | 'east';

/** One calculator replica of the demo: where it listens (fixed after the first start) and whether it runs. */
interface DemoReplica {
  name: string;
  region: RegionName;
  host: string;
  port: number;
  /** null: no gRPC. */
  grpcPort: number | null;
  running: RunningAddServer | null;
}

const PRIORITY: Readonly<Record<RegionName, number>> = { west: 1, east: 2 };

async function startReplica(r: DemoReplica): Promise<void> {
  const s = await startAddServer({ host: r.host, httpPort: r.port, grpcPort: r.grpcPort, name: r.name, region: r.region });
  r.port = Number(new URL(s.httpUrl).port);
  if (r.grpcPort !== null && s.grpcAddress !== null) r.grpcPort = Number(s.grpcAddress.slice(s.grpcAddress.lastIndexOf(':') + 1));
  r.running = s;
}

async function stopReplica(r: DemoReplica): Promise<void> {
  const s = r.running;
  r.running = null;
  await s?.close();
}

const where = (r: DemoReplica): string => `${r.name} (${r.host}:${r.port})`;

/** What happens to the failover view's traffic once `region` stopped or started, as one sentence. */
function trafficNote(all: readonly DemoReplica[], region: RegionName, started: boolean): string {
  const up = (Object.keys(PRIORITY) as RegionName[])
    .filter((g) => g !== region && all.some((r) => r.region === g && r.running !== null))
    .sort((x, y) => PRIORITY[x] - PRIORITY[y]);
  const best = up[0];
  const path = `${FAILOVER.prefix}/…`;
  if (started)
    return best === undefined || PRIORITY[region] < PRIORITY[best]
      ? `${path} traffic comes to it once its probes pass (every ${FAILOVER.interval})`
      : `it stands by behind region ${best} (priority ${PRIORITY[best]})`;
  if (best === undefined) return `no region is left: ${path} answers 503 until one starts`;
  return PRIORITY[region] < PRIORITY[best]
    ? `${path} traffic moves to region ${best} (priority ${PRIORITY[best]}) once the probes (every ${FAILOVER.interval}) find it down`
    : `region ${best} (priority ${PRIORITY[best]}) keeps the traffic`;
}

/**
 * Lines on stdin: `stop N` / `start N` stop or restart replica add-N (region
 * west) on its address; `stop west|east` / `start west|east` a whole region.
 */
function replicaControl(all: DemoReplica[], print: (s: string) => void): () => void {
  const rl = createInterface({ input: process.stdin, terminal: false });
  const west = all.filter((r) => r.region === 'west');
  const usage = `expected "stop N" or "start N" (replica add-N, N from 1 to ${west.length}), or "stop west" / "start west" (regions: west, east)\n`;
  const regionCommand = async (region: RegionName, start: boolean): Promise<void> => {
    const todo = all.filter((r) => r.region === region && (r.running !== null) !== start);
    if (todo.length === 0) return print(`region ${region} is ${start ? 'running' : 'stopped'} already\n`);
    try {
      await Promise.all(todo.map((r) => (start ? startReplica(r) : stopReplica(r))));
    } catch (err) {
      return print(`region ${region}: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    const verb = start ? 'started' : 'stopped';
    print(`region ${region} (priority ${PRIORITY[region]}) ${verb}: ${todo.map(where).join(', ')}; ${trafficNote(all, region, start)}\n`);
  };
  const replicaCommand = async (r: DemoReplica, start: boolean): Promise<void> => {
    if ((r.running !== null) === start) return print(`replica ${r.name} is ${start ? 'running' : 'stopped'} already\n`);
    try {
      await (start ? startReplica(r) : stopReplica(r));
      print(`replica ${where(r)} ${start ? 'started' : 'stopped'}\n`);
    } catch (err) {
      print(`replica ${r.name}: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  };
  const command = async (line: string): Promise<void> => {
    if (line.trim() === '') return;
    const m = /^\s*(stop|start)\s+(\S+)\s*$/i.exec(line);
    const start = m?.[1]?.toLowerCase() === 'start';
    const target = m?.[2]?.toLowerCase() ?? '';
    if (target === 'west' || target === 'east') return regionCommand(target, start);
    const r = /^\d+$/.test(target) ? west[Number(target) - 1] : undefined;
    if (r === undefined) return print(usage);
    return replicaCommand(r, start);
  };
  // One command at a time, in the order typed.
  let busy: Promise<void> = Promise.resolve();
  rl.on('line', (line) => {
    busy = busy.then(() => command(line));
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

  // 1. Calculator replicas on loopback addresses (any 127/8 address is local on Linux): region west,
  // the seed's replicas, on 127.0.0.2, .3, …; region east, the failover region, on 127.0.1.2, .3, … (HTTP only).
  const all: DemoReplica[] = [
    ...Array.from({ length: f.replicas }, (_, i): DemoReplica => ({
      name: `add-${i + 1}`,
      region: 'west',
      host: `127.0.0.${2 + i}`,
      port: 0,
      grpcPort: 0,
      running: null,
    })),
    ...Array.from({ length: f.eastReplicas }, (_, i): DemoReplica => ({
      name: `east-${i + 1}`,
      region: 'east',
      host: `127.0.1.${2 + i}`,
      port: 0,
      grpcPort: null,
      running: null,
    })),
  ];
  for (const r of all) await startReplica(r);
  const inRegion = (g: RegionName): DemoReplica[] => all.filter((r) => r.region === g);
  const replicas = inRegion('west').map((r) => r.running!);
  const eps = inRegion('west').map((r) => ({ host: r.host, port: r.port }));

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
  // Two regions behind one origin group (Front Door's priorities), on /global/….
  const regions = (['west', 'east'] as const).map((g) => ({ name: g, priority: PRIORITY[g], replicas: inRegion(g) }));
  writeFileSync(
    join(dir, '60-calc-global.yaml'),
    globalCalcYaml(
      regions.map((g) => ({ name: g.name, priority: g.priority, servers: g.replicas.map((r) => ({ host: r.host, port: r.port })) })),
    ),
  );

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
  else
    print(
      demoBanner({
        port,
        adminPort: f.adminPort,
        replicas,
        regions: regions.map((g) => ({
          name: g.name,
          priority: g.priority,
          replicas: g.replicas.map((r) => r.name),
          addresses: g.name === 'west' ? '127.0.0.x' : '127.0.1.x',
        })),
        rate: f.rate,
        clientSecret,
        otherSecret,
        adminPassword,
        dir,
      }),
    );
  const closeControl = replicaControl(all, print);

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
  await Promise.all(all.map(stopReplica));
  if (total !== null) print(`add-cli made ${total.ok + total.failed} calls, ${total.failed} failed\n`);
  return EXIT.OK;
}
