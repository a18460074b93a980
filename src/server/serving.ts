/**
 * The serving half of Gatehouse, the same in the one process and in every
 * cluster worker: telemetry, the internal services, the identity issuer and
 * the Gateway, listening on the entry points, with every snapshot the
 * backplane delivers applied by the one list of serving listeners.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../log.js';
import type { Snapshot } from '../config/runtime.js';
import { sectionOf } from '../config/kinds.js';
import { builtinRegistry } from '../middlewares/builtin.js';
import { IdentityProvider, emptyIdentitySection, identityKind, materializeIdentity } from '../identity/index.js';
import type { ServingBackplane } from '../cluster/backplane.js';
import type { Addresses } from '../cluster/protocol.js';
import { TlsServing } from './tls-serving.js';
import { applyTcp } from './tcp-serving.js';
import { certificateMetrics } from '../tls/status.js';
import { TLS_SECTION, type TlsSection } from '../tls/compile.js';
import { Gateway } from './gateway.js';
import type { ServeOptions } from './options.js';
import { createTelemetry } from './telemetry.js';
import { createInternalServices } from './internal-services.js';
import type { AdmissionVerdict } from '../admin/admission.js';

export interface ServingDeps {
  log: Logger;
  /** Rotate the issuer's signing keys while running (only where one process owns them). */
  rotateKeys: boolean;
  /** Names of the providers the primary runs (for /api/overview). */
  providers: string[];
  /** Cluster worker: the primary listens at these addresses and hands connections over (Serving.adopt). */
  external?: Addresses;
}

export interface Serving {
  readonly gateway: Gateway;
  readonly addresses: Addresses;
  /** Drain in-flight requests and close listeners, pools and telemetry (`acceptGrace: false`: the primary waited requestAcceptGraceTimeout). */
  close(opts?: { acceptGrace?: boolean }): Promise<void>;
  /** Serve a connection accepted by the primary on entry point `name` (cluster mode). */
  adopt(name: string, socket: Socket): boolean;
}

const NEVER_MS = 365 * 24 * 3600 * 1000;

export async function startServing(o: ServeOptions, bp: ServingBackplane, deps: ServingDeps): Promise<Serving> {
  const { log } = deps;
  // --redis.endpoints: every serving process (each worker) talks to Redis itself; its own store is the `local` fallback.
  // Loaded only when configured: ioredis is not needed by a gateway without Redis.
  const redis = o.redis !== null ? await redisStore(o.redis, bp, log) : null;
  await redis?.conn.start(2000);
  let latest: Snapshot | null = null;
  const telemetry = createTelemetry(
    o,
    bp,
    log,
    () =>
      (redis !== null ? redis.conn.prometheusText() : '') + certificateMetrics(latest?.sections?.[TLS_SECTION] as TlsSection | undefined),
  );
  const identityEnabled = o.identity.enabled || o.identity.insecure;
  const idp = identityEnabled
    ? new IdentityProvider({
        dataDir: o.dataDir,
        issuerBaseUrl: o.identity.issuerBaseUrl ?? undefined,
        log: log.child({ service: 'identity@internal' }),
        // The primary creates the keys before serving starts; only a sole process rotates them while running.
        // With Redis the keys are shared and rotation is coordinated by a lock (src/identity/shared-keys.ts): every process may rotate.
        ...(deps.rotateKeys || redis !== null ? {} : { rotationIntervalMs: NEVER_MS }),
        ...(redis !== null ? { redis: redis.conn } : {}),
      })
    : null;
  await idp?.init();
  let gateway: Gateway | null = null;
  const internal = createInternalServices(o, {
    gateway: () => gateway,
    snapshot: () => latest,
    providers: () => deps.providers,
    observeApi: telemetry.observeApi,
    providerStatuses: () => bp.rpc('providers'),
    gitWebhook: async (headers, body) => {
      const r = (await bp.rpc('gitWebhook', { headers, body: body.toString('base64') })) as { status?: unknown; message?: unknown };
      return { status: typeof r.status === 'number' ? r.status : 500, message: String(r.message ?? '') };
    },
    secretStatuses: () => bp.rpc('secrets'),
    admission: async (req) => (await bp.rpc('admission', req)) as AdmissionVerdict,
    prometheus: telemetry.prometheus,
    identity: idp?.handler ?? null,
    ...(redis !== null ? { redisStatus: () => redis.conn.status() } : {}),
    acmeHttp01: async (token) => {
      const v = await bp.rpc('tls.http01', { token });
      return typeof v === 'string' ? v : null;
    },
    acmeStatus: () => bp.rpc('tls.acme'),
    ...(o.dns !== null && o.dns.publish !== false
      ? {
          dnsStatus: () => bp.rpc('dns'),
          dnsRouterStates: async () => (await bp.rpc('dnsRouters')) as Record<string, unknown>,
          dnsTcpRouterStates: async () => (await bp.rpc('dnsTcpRouters')) as Record<string, unknown>,
        }
      : {}),
  });
  const tls = new TlsServing(bp, log.child({ component: 'tls' }));
  gateway = new Gateway({
    tls: tls.acceptor,
    entryPoints: o.entryPoints,
    registry: builtinRegistry(),
    rateLimitStore: redis ?? bp.rateLimitStore,
    log,
    dataDir: o.dataDir,
    maxHeaderSize: o.maxHeaderSize,
    internal,
    onEnd: telemetry.onEnd,
    onStart: telemetry.onStart,
    entryPointMiddlewares: o.entryPointMiddlewares,
    defaultTransport: o.defaultTransport,
  });
  telemetry.attach(gateway);
  // Listen first: middlewares that fetch from this gateway while they are built (validateJwt → identity@internal) can reach it.
  const gw = gateway;
  try {
    await gw.listen(deps.external);
  } catch (err) {
    // An entry point that cannot listen ends the start: release what did start.
    await gw.close().catch(() => undefined);
    await telemetry.close().catch(() => undefined);
    await idp?.close().catch(() => undefined);
    await redis?.close().catch(() => undefined);
    throw err;
  }
  // The serving listeners, in order: every snapshot, the first one included.
  const unsubscribe = bp.onSnapshot((s) => {
    latest = s;
    idp?.update(materializeIdentity(sectionOf(s, identityKind) ?? emptyIdentitySection, process.env));
    tls.update(s);
    applyTcp(s, gw, log);
    gw.apply(s);
  });
  const addresses: Addresses = {};
  for (const e of o.entryPoints) addresses[e.name] = gw.entryPoint(e.name)!.address;
  return {
    gateway: gw,
    addresses,
    adopt: (name, socket) => gw.adopt(name, socket),
    async close(opts = {}) {
      unsubscribe();
      await gw.close(opts);
      await telemetry.close();
      await idp?.close();
      await redis?.close();
    },
  };
}

async function redisStore(
  options: NonNullable<ServeOptions['redis']>,
  bp: ServingBackplane,
  log: Logger,
): Promise<import('../middlewares/rate-limit/store-redis.js').RedisLimitStore> {
  const [{ RedisConnection }, { RedisLimitStore }] = await Promise.all([
    import('../middlewares/rate-limit/redis-client.js'),
    import('../middlewares/rate-limit/store-redis.js'),
  ]);
  return new RedisLimitStore(new RedisConnection(options, log.child({ component: 'redis' })), bp.rateLimitStore);
}
