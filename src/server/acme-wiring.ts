/**
 * ACME in the composition root (docs/tls.md, "ACME certificate resolvers"):
 * the engine runs in the primary only (one process orders; with --workers N
 * the workers serve), fed by every snapshot (the names TLS routers ask their
 * resolver for), and its certificates come back into the configuration as a
 * provider (`acme`), so they are compiled, checked and served like any other
 * certificate. Challenges are answered by the serving processes through rpc:
 * http-01 by the internal router `acme-http@internal`, tls-alpn-01 by the TLS
 * acceptor.
 */
import type { Logger } from '../log.js';
import type { Snapshot } from '../config/runtime.js';
import { emptyFragment, type ConfigFragment } from '../config/model.js';
import type { Provider, ProviderMessage, ProviderStatus } from '../providers/types.js';
import { AcmeEngine, ChallengeStore, RedisAcmeStorage, type AcmeCertificateStatus, type AcmeResolverConfig } from '../tls/acme/index.js';
import type { AcmeDomains } from '../tls/acme/index.js';
import { TLS_SECTION, type TlsSection } from '../tls/compile.js';
import { compileRule } from '../rules/index.js';
import type { RpcHandlers } from '../cluster/backplane.js';
import type { ServeOptions } from './options.js';
import type { Dns01Solver } from '../tls/acme/index.js';

export const ACME_PROVIDER = 'acme';

/** The engine's certificates as a configuration provider: one fragment of inline `tls.certificates`. */
class AcmeCertificatesProvider implements Provider {
  readonly name = ACME_PROVIDER;
  #emit: ((m: ProviderMessage) => void) | null = null;
  #revision = 0;
  #last = '';
  #closed = false;

  constructor(private readonly engine: AcmeEngine) {
    engine.onCertificate(() => this.send());
  }

  async start(emit: (m: ProviderMessage) => void): Promise<void> {
    this.#emit = emit;
    this.send();
  }

  private send(): void {
    if (this.#emit === null || this.#closed) return;
    const frag: ConfigFragment = emptyFragment(ACME_PROVIDER);
    for (const c of this.engine.certificates())
      frag.tlsCertificates?.push({
        value: { certFile: c.certPem, keyFile: c.keyPem },
        // `object` carries the resolver: compileTls names the certificate's resolver from it.
        source: { file: `(certificate resolver ${c.resolver})`, object: c.resolver },
      });
    const key = (frag.tlsCertificates ?? []).map((i) => i.value.certFile).join('\n');
    if (key === this.#last && this.#revision > 0) return;
    this.#last = key;
    this.#emit({ provider: ACME_PROVIDER, revision: String(++this.#revision), fragments: [frag], issues: [], refused: [] });
  }

  status(): ProviderStatus {
    const failed = this.engine.status().filter((s) => s.state === 'Failed');
    return {
      name: ACME_PROVIDER,
      type: 'acme',
      state: this.#closed ? 'stopped' : failed.length > 0 ? 'degraded' : this.#emit === null ? 'starting' : 'ready',
      revision: String(this.#revision),
      lastUpdate: '',
      message: failed.map((s) => `${s.resolver} ${s.domains.main}: ${s.error ?? 'failed'}`).join('; '),
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#emit = null;
  }
}

/** The names each TLS router asks its resolver for: its `domains`, else the hosts of its rule (main + SANs), as Traefik. */
export function wantedDomains(s: Snapshot): Map<string, AcmeDomains[]> {
  const out = new Map<string, AcmeDomains[]>();
  const tls = s.sections?.[TLS_SECTION] as TlsSection | undefined;
  if (tls === undefined) return out;
  for (const [name, r] of Object.entries(tls.routers)) {
    if (r.certResolver === undefined) continue;
    const list = out.get(r.certResolver) ?? [];
    out.set(r.certResolver, list);
    if (r.domains !== undefined && r.domains.length > 0) {
      for (const d of r.domains) if (d.main !== undefined && d.main !== '') list.push({ main: d.main, sans: d.sans ?? [] });
      continue;
    }
    const router = s.routers[name];
    if (router === undefined) continue;
    let hosts: readonly string[] = [];
    try {
      hosts = compileRule(router.config.rule, router.ruleSyntax).hosts ?? [];
    } catch {
      hosts = [];
    }
    const [main, ...sans] = hosts;
    if (main !== undefined) list.push({ main, sans });
  }
  return out;
}

export interface AcmeWiring {
  readonly provider: Provider;
  readonly engine: AcmeEngine;
  onSnapshot(s: Snapshot): void;
  readonly rpc: RpcHandlers;
  status(): AcmeCertificateStatus[];
  close(): Promise<void>;
}

export async function startAcme(
  o: ServeOptions,
  log: Logger,
  deps: { dns01?: Record<string, Dns01Solver> } = {},
): Promise<AcmeWiring | null> {
  if (o.acme.length === 0) return null;
  const challenges = new ChallengeStore();
  let redisConn: { client: RedisLike; close(): Promise<void> } | null = null;
  let storage: RedisAcmeStorage | undefined;
  if (o.redis !== null) {
    // Many replicas, one certificate: the account, certificates and the order lock live in Redis.
    const { RedisConnection } = await import('../middlewares/rate-limit/redis-client.js');
    const conn = new RedisConnection(o.redis, log.child({ component: 'acme-redis' }));
    await conn.start(2000);
    redisConn = conn as unknown as { client: RedisLike; close(): Promise<void> };
    storage = new RedisAcmeStorage({ client: conn.client as ConstructorParameters<typeof RedisAcmeStorage>[0]['client'] });
  }
  const engine = new AcmeEngine({
    resolvers: o.acme as AcmeResolverConfig[],
    challenges,
    ...(deps.dns01 !== undefined ? { dns01: deps.dns01 } : {}),
    ...(storage !== undefined ? { storage } : {}),
    log: log.child({ component: 'acme' }),
  });
  await engine.start();
  const logged = new Set<string>();
  // With several replicas the CA's validation request may reach any of them: pending challenges are shared in Redis too.
  const shared = redisConn === null ? null : sharedChallenges(redisConn.client, log);
  if (shared !== null) challenges.onChange((c) => shared.publish(c));
  return {
    provider: new AcmeCertificatesProvider(engine),
    engine,
    onSnapshot(s) {
      const wanted = wantedDomains(s);
      for (const r of o.acme) {
        const { errors } = engine.setWanted(r.name, wanted.get(r.name) ?? []);
        for (const e of errors) {
          if (logged.has(e)) continue;
          logged.add(e);
          log.error({ resolver: r.name }, `certificate resolver ${r.name}: ${e}`);
        }
      }
    },
    rpc: {
      'tls.http01': async (a) => {
        const token = (a as { token?: unknown } | null)?.token;
        if (typeof token !== 'string') return null;
        return challenges.http01Answer(token) ?? (await shared?.http01(token)) ?? null;
      },
      'tls.alpnChallenge': async (a) => {
        const name = (a as { serverName?: unknown } | null)?.serverName;
        if (typeof name !== 'string') return null;
        const c = challenges.tlsAlpnCertificate(name) ?? (await shared?.tlsAlpn(name));
        return c === undefined ? null : { cert: c.certPem, key: c.keyPem };
      },
      'tls.acme': () => engine.status(),
    },
    status: () => engine.status(),
    async close() {
      await engine.close();
      await redisConn?.close();
    },
  };
}

/** The slice of an ioredis client the shared challenges use. */
interface RedisLike {
  set(key: string, value: string, px: 'PX', ms: number): Promise<unknown>;
  get(key: string): Promise<string | null>;
  del(key: string): Promise<unknown>;
}

const CHALLENGE_PREFIX = 'gatehouse:acme:challenge:';
/** A pending challenge outlives no order: 10 minutes. */
const CHALLENGE_TTL_MS = 600_000;
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

/**
 * Pending http-01 and tls-alpn-01 answers in Redis, so the replica that the CA's
 * validation reaches can answer for the replica that ordered. The tls-alpn-01
 * key is the challenge certificate's own throw-away key.
 */
function sharedChallenges(client: RedisLike, log: Logger) {
  const run = <T>(what: string, p: Promise<T>): Promise<T | undefined> =>
    p.then(
      (v) => v,
      (err: unknown) => {
        log.warn({ err: err instanceof Error ? err.message : String(err) }, `ACME: Redis ${what} failed`);
        return undefined;
      },
    );
  return {
    publish(c: import('../tls/acme/index.js').ChallengeChange): void {
      const key = c.kind === 'http-01' ? `${CHALLENGE_PREFIX}http01:${c.token}` : `${CHALLENGE_PREFIX}alpn:${c.domain.toLowerCase()}`;
      const value = c.kind === 'http-01' ? c.keyAuthorization : c.certificate === undefined ? undefined : JSON.stringify(c.certificate);
      void run('challenge write', value === undefined ? client.del(key) : client.set(key, value, 'PX', CHALLENGE_TTL_MS));
    },
    async http01(token: string): Promise<string | undefined> {
      if (!TOKEN.test(token)) return undefined;
      return (await run('challenge read', client.get(`${CHALLENGE_PREFIX}http01:${token}`))) ?? undefined;
    },
    async tlsAlpn(name: string): Promise<{ certPem: string; keyPem: string } | undefined> {
      const v = await run('challenge read', client.get(`${CHALLENGE_PREFIX}alpn:${name.toLowerCase()}`));
      if (v === undefined || v === null) return undefined;
      try {
        const o = JSON.parse(v) as { certPem?: unknown; keyPem?: unknown };
        return typeof o.certPem === 'string' && typeof o.keyPem === 'string' ? { certPem: o.certPem, keyPem: o.keyPem } : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
