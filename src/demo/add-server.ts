/**
 * The demo workload's calculator, `add`: HTTP `GET /add/{a}/{b}` answers the sum
 * as text, gRPC `calculator.Calculator/Add` answers it as a double. Every answer
 * names the replica (`x-add-replica`) so load balancing is visible, and its
 * region (`x-add-region`) when it has one (the demo's two-region failover).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { GatehouseError } from '../errors.js';
import { createLogger } from '../log.js';
import { didYouMean } from '../util/closest.js';
import { CALCULATOR_SERVICE, HEALTH_SERVICE, calculatorDefinition, healthDefinition, serviceConstructor } from './proto.js';

export interface AddServerOptions {
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** HTTP port; 0 (default) picks a free one. */
  httpPort?: number;
  /** gRPC port; 0 (default) picks a free one, null serves no gRPC. */
  grpcPort?: number | null;
  /** Replica name sent in `x-add-replica`; default `<hostname>:<httpPort>`. */
  name?: string;
  /** Region sent in `x-add-region` on HTTP answers; absent: no such header. */
  region?: string;
}

export interface RunningAddServer {
  httpUrl: string;
  /** `host:port` for a gRPC client, null when gRPC is off. */
  grpcAddress: string | null;
  name: string;
  /** Stop accepting, let in-flight calls finish (at most CLOSE_GRACE_MS), then drop the rest. */
  close(): Promise<void>;
}

export const REPLICA_HEADER = 'x-add-replica';
export const REGION_HEADER = 'x-add-region';
const CLOSE_GRACE_MS = 5_000;
const MAX_OPERAND_CHARS = 64;
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?$/;
const USAGE = 'expected /add/{a}/{b}, e.g. /add/10/10';

/** a + b rounded to 12 significant digits (0.1 + 0.2 → 0.3); NaN/±Infinity pass through. */
export function addNumbers(a: number, b: number): number {
  const s = a + b;
  return Number.isFinite(s) ? Number(s.toPrecision(12)) + 0 : s; // + 0 turns -0 into 0
}

/** One path segment as a number, NaN when it is not a plain decimal. */
export function parseOperand(segment: string): number {
  let s = segment;
  if (s.length > MAX_OPERAND_CHARS * 3) return NaN;
  if (s.includes('%')) {
    try {
      s = decodeURIComponent(s);
    } catch {
      return NaN;
    }
  }
  return s.length <= MAX_OPERAND_CHARS && NUMBER.test(s) ? Number(s) : NaN;
}

function invalidOperand(segment: string): string {
  const shown = segment.length > 32 ? `${segment.slice(0, 32)}…` : segment;
  return `invalid number ${JSON.stringify(shown)}: expected a decimal like 10, -2 or 1.5`;
}

function answer(
  res: ServerResponse,
  who: Readonly<Record<string, string>>,
  status: number,
  body: string,
  extra?: Record<string, string>,
): void {
  const buf = Buffer.from(body);
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': buf.length,
    'cache-control': 'no-store',
    ...who,
    ...extra,
  });
  res.end(res.req.method === 'HEAD' ? undefined : buf);
}

/** The HTTP request listener of one replica (of `region`, when given). */
export function addHttpListener(name: string, region?: string): (req: IncomingMessage, res: ServerResponse) => void {
  const replica: Record<string, string> =
    region === undefined ? { [REPLICA_HEADER]: name } : { [REPLICA_HEADER]: name, [REGION_HEADER]: region };
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const isAdd = path === '/add' || path.startsWith('/add/');
    if (!isAdd && path !== '/healthz') return answer(res, replica, 404, `not found: try /add/{a}/{b} or /healthz\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return answer(res, replica, 405, 'method not allowed: use GET\n', { allow: 'GET, HEAD' });
    if (!isAdd) return answer(res, replica, 200, 'ok');
    const rest = path.slice(5);
    const slash = rest.indexOf('/');
    if (slash === -1 || rest.indexOf('/', slash + 1) !== -1) return answer(res, replica, 400, `${USAGE}\n`);
    const sa = rest.slice(0, slash);
    const sb = rest.slice(slash + 1);
    const a = parseOperand(sa);
    if (Number.isNaN(a)) return answer(res, replica, 400, `${invalidOperand(sa)}\n`);
    const b = parseOperand(sb);
    if (Number.isNaN(b)) return answer(res, replica, 400, `${invalidOperand(sb)}\n`);
    const sum = addNumbers(a, b);
    if (!Number.isFinite(sum)) return answer(res, replica, 400, 'the sum is out of range\n');
    answer(res, replica, 200, String(sum));
  };
}

interface AddRequest {
  x: number;
  y: number;
}
interface AddReply {
  sum: number;
}
type ServingStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
interface HealthRequest {
  service: string;
}
interface HealthReply {
  status: ServingStatus;
}

function invalid(details: string): Partial<grpc.StatusObject> {
  return { code: grpc.status.INVALID_ARGUMENT, details };
}

function startGrpc(host: string, port: number, replica: string): Promise<{ address: string; close(): Promise<void> }> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 });
  let serving: ServingStatus = 'SERVING';
  const watchers = new Set<grpc.ServerWritableStream<HealthRequest, HealthReply>>();
  const known = (service: string): boolean => service === '' || service === CALCULATOR_SERVICE || service === HEALTH_SERVICE;

  server.addService(serviceConstructor(calculatorDefinition(), CALCULATOR_SERVICE).service, {
    Add(call: grpc.ServerUnaryCall<AddRequest, AddReply>, cb: grpc.sendUnaryData<AddReply>) {
      const md = new grpc.Metadata();
      md.set(REPLICA_HEADER, replica);
      call.sendMetadata(md);
      const { x, y } = call.request;
      if (!Number.isFinite(x)) return cb(invalid(`x must be a finite number, got ${x}`));
      if (!Number.isFinite(y)) return cb(invalid(`y must be a finite number, got ${y}`));
      const sum = addNumbers(x, y);
      if (!Number.isFinite(sum)) return cb(invalid('the sum is out of range'));
      cb(null, { sum });
    },
  });
  server.addService(serviceConstructor(healthDefinition(), HEALTH_SERVICE).service, {
    Check(call: grpc.ServerUnaryCall<HealthRequest, HealthReply>, cb: grpc.sendUnaryData<HealthReply>) {
      if (!known(call.request.service)) return cb({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      cb(null, { status: serving });
    },
    Watch(call: grpc.ServerWritableStream<HealthRequest, HealthReply>) {
      if (!known(call.request.service)) {
        call.write({ status: 'SERVICE_UNKNOWN' });
        return;
      }
      call.write({ status: serving });
      watchers.add(call);
      call.on('cancelled', () => watchers.delete(call));
    },
  });
  new ReflectionService({ ...calculatorDefinition(), ...healthDefinition() }).addToServer(server);

  const bindHost = host.includes(':') ? `[${host}]` : host;
  return new Promise((resolve, reject) => {
    server.bindAsync(`${bindHost}:${port}`, grpc.ServerCredentials.createInsecure(), (err, boundPort) => {
      if (err !== null)
        return reject(new GatehouseError('GH_INTERNAL', `gRPC listen on ${bindHost}:${port} failed: ${err.message}`, { cause: err }));
      resolve({
        address: `${bindHost}:${boundPort}`,
        close: () =>
          new Promise<void>((done) => {
            serving = 'NOT_SERVING';
            for (const w of watchers) {
              w.write({ status: serving });
              w.end();
            }
            watchers.clear();
            const force = setTimeout(() => server.forceShutdown(), CLOSE_GRACE_MS);
            server.tryShutdown(() => {
              clearTimeout(force);
              done();
            });
          }),
      });
    });
  });
}

function listenHttp(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void =>
      reject(new GatehouseError('GH_INTERNAL', `HTTP listen on ${host}:${port} failed: ${err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeHttp(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** Start one calculator replica (HTTP, and gRPC unless grpcPort is null). */
export async function startAddServer(opts: AddServerOptions = {}): Promise<RunningAddServer> {
  const host = opts.host ?? '127.0.0.1';
  // The name is fixed before listening; with a random port it is completed once the port is known.
  const replica = { name: opts.name ?? '' };
  let listener = addHttpListener(replica.name, opts.region);
  const http = createServer((req, res) => listener(req, res));
  http.headersTimeout = 10_000;
  http.requestTimeout = 30_000;
  http.keepAliveTimeout = 30_000;
  http.maxHeadersCount = 100;
  const httpPort = await listenHttp(http, host, opts.httpPort ?? 0);
  if (replica.name === '') {
    replica.name = `${hostname()}:${httpPort}`;
    listener = addHttpListener(replica.name, opts.region);
  }
  let grpcServer: { address: string; close(): Promise<void> } | null = null;
  if (opts.grpcPort !== null) {
    try {
      grpcServer = await startGrpc(host, opts.grpcPort ?? 0, replica.name);
    } catch (err) {
      await closeHttp(http);
      throw err;
    }
  }
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | null = null;
  return {
    httpUrl: `http://${urlHost}:${httpPort}`,
    grpcAddress: grpcServer?.address ?? null,
    name: replica.name,
    close: () => (closing ??= Promise.all([closeHttp(http), grpcServer?.close()]).then(() => undefined)),
  };
}

/** `--flag value` / `--flag=value` pairs; unknown flags are errors with a hint. */
export function parseFlags(argv: readonly string[], known: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = (argv[i] === '-h' ? '--help' : argv[i]) as string;
    if (!arg.startsWith('--')) throw new GatehouseError('GH_FLAG_INVALID', `unexpected argument "${arg}"`, { exitCode: 2 });
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (!known.includes(name))
      throw new GatehouseError('GH_FLAG_UNKNOWN', `unknown flag --${name}${didYouMean(name, known)}`, { exitCode: 2 });
    if (name === 'help') {
      out.set(name, 'true');
      continue;
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new GatehouseError('GH_FLAG_INVALID', `flag --${name} needs a value`, { exitCode: 2 });
    out.set(name, value);
  }
  return out;
}

/** A port number 0-65535, or null for "off"/"none"/"false" when `allowOff`. */
export function parsePort(value: string, what: string, allowOff = false): number | null {
  if (allowOff && /^(off|none|false|disabled)$/i.test(value)) return null;
  const n = Number(value);
  if (!/^\d{1,5}$/.test(value) || n > 65535)
    throw new GatehouseError(
      'GH_FLAG_INVALID',
      `invalid ${what} "${value}": expected a port number 0-65535${allowOff ? ' or "off"' : ''}`,
      { exitCode: 2 },
    );
  return n;
}

const ADD_FLAGS = ['http-port', 'grpc-port', 'host', 'name', 'help'] as const;
export const ADD_USAGE = `usage: gatehouse add [--http-port 8081] [--grpc-port 9091|off] [--host 127.0.0.1] [--name replica]

The demo's calculator: HTTP GET /add/{a}/{b} and gRPC calculator.Calculator/Add.

flags:
  --http-port N         HTTP port (default 8081; env PORT)
  --grpc-port N|off     gRPC port, or off (default 9091; env GRPC_PORT)
  --host ADDRESS        interface to listen on (default 127.0.0.1; 0.0.0.0 in a container)
  --name NAME           replica name sent in x-add-replica (env ADD_REPLICA; default host:port)
  -h, --help            this text
`;

/**
 * `gatehouse add`: argv is what follows the sub-command. Runs until SIGINT or
 * SIGTERM (or `signal` aborts), then closes gracefully and resolves.
 */
export async function addServerMain(argv: string[], env: NodeJS.ProcessEnv = process.env, signal?: AbortSignal): Promise<void> {
  const flags = parseFlags(argv, ADD_FLAGS);
  if (flags.has('help')) {
    process.stdout.write(ADD_USAGE);
    return;
  }
  const httpPort = parsePort(flags.get('http-port') ?? env['PORT'] ?? '8081', 'HTTP port') as number;
  const grpcPort = parsePort(flags.get('grpc-port') ?? env['GRPC_PORT'] ?? '9091', 'gRPC port', true);
  const name = flags.get('name') ?? env['ADD_REPLICA'];
  const log = createLogger(env['LOG_LEVEL'] ?? 'info');
  const running = await startAddServer({ host: flags.get('host') ?? '127.0.0.1', httpPort, grpcPort, ...(name ? { name } : {}) });
  log.info({ http: running.httpUrl, grpc: running.grpcAddress, replica: running.name }, 'add: calculator listening');
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (signal?.aborted) stop();
    else signal?.addEventListener('abort', stop);
  });
  await running.close();
  log.flush();
}
