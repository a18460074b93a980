/** StaticConfig (Traefik's names) → ServeOptions (what serve() needs). */
import { validateAcmeResolver, type AcmeResolverConfig } from '../tls/acme/config.js';
import { dnsOptionsFromStatic } from '../dns/options.js';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { StaticConfig } from '../config/static-schema.js';
import type { ServeOptions } from './options.js';
import type { EntryPointSpec } from './gateway.js';
import type { AccessLogFields } from '../observe/access-log.js';
import { secretsOptionsFromStatic } from '../secrets/options.js';
import { gitOptionsFromStatic } from '../providers/git/options.js';
import { kubernetesOptionsFromStatic } from '../providers/kubernetes/options.js';
import { redisOptionsFromStatic } from '../middlewares/rate-limit/redis-options.js';

/** ":8000" → { host: undefined, port: 8000 }; "127.0.0.1:8000"; "[::1]:8000"; optional "/tcp". */
export function parseAddress(address: string): { host: string | undefined; port: number } {
  const a = address.replace(/\/(tcp|udp)$/i, '');
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(a);
  if (m === null) throw new Error(`invalid address "${address}": expected ":8000", "127.0.0.1:8000" or "[::1]:8000"`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid address "${address}": port ${port} is out of range`);
  const host = m[1] ?? (m[2] === '' ? undefined : m[2]);
  return { host, port };
}

export function serveOptionsFromStatic(c: StaticConfig, cwd: string): ServeOptions {
  const entryPoints: EntryPointSpec[] = Object.entries(c.entryPoints).map(([name, ep]) => {
    const { host, port } = parseAddress(ep.address);
    return {
      name,
      host,
      port,
      forwarded: { insecure: ep.forwardedHeaders.insecure, trustedIPs: ep.forwardedHeaders.trustedIPs as string[] },
      readTimeout: ep.transport.respondingTimeouts.readTimeout,
      idleTimeout: ep.transport.respondingTimeouts.idleTimeout,
      writeTimeout: ep.transport.respondingTimeouts.writeTimeout,
      graceTimeout: ep.transport.lifeCycle.graceTimeOut,
      http1: ep.http.server,
      sanitizePath: ep.http.sanitizePath,
      http2: { maxConcurrentStreams: ep.http2.maxConcurrentStreams },
      acceptGraceTimeout: ep.transport.lifeCycle.requestAcceptGraceTimeout,
      ...proxyProtocolOf(ep),
    };
  });
  const asDefault = Object.entries(c.entryPoints)
    .filter(([, e]) => e.asDefault)
    .map(([n]) => n);
  const names = entryPoints.map((e) => e.name);
  const defaultEntryPoints = asDefault.length > 0 ? asDefault : names.filter((n) => n !== 'traefik' || names.length === 1);
  const file = c.providers.file;
  const k = c.providers.kubernetesCRD;
  const prom = c.metrics.prometheus;
  return {
    entryPoints,
    defaultEntryPoints,
    file:
      file !== undefined && (file.directory !== undefined || file.filename !== undefined)
        ? {
            directory: file.directory !== undefined ? resolve(cwd, file.directory) : undefined,
            filename: file.filename !== undefined ? resolve(cwd, file.filename) : undefined,
            watch: file.watch,
          }
        : null,
    git: gitOptionsFromStatic(c.providers.git, cwd),
    kubernetesCrd: k !== undefined,
    kubernetesApi: kubernetesOptionsFromStatic(k as Parameters<typeof kubernetesOptionsFromStatic>[0], cwd),
    kubernetes: {
      allowCrossNamespace: k?.allowCrossNamespace ?? false,
      allowExternalNameServices: k?.allowExternalNameServices ?? false,
      namespaces: (k?.namespaces ?? []) as string[],
    },
    api: { enabled: c.api !== undefined, insecure: c.api?.insecure ?? false, dashboard: c.api?.dashboard ?? true },
    ping:
      c.ping !== undefined && !c.ping.manualRouting ? { entryPoint: c.ping.entryPoint } : c.ping !== undefined ? { entryPoint: '' } : null,
    metrics:
      prom !== undefined
        ? {
            entryPoint: prom.entryPoint,
            addRoutersLabels: prom.addRoutersLabels,
            addEntryPointsLabels: prom.addEntryPointsLabels,
            addServicesLabels: prom.addServicesLabels,
            buckets: [...new Set(prom.buckets)],
          }
        : null,
    observability: {
      metrics: c.observability.metrics,
      callerHeader:
        c.observability.callerHeader !== undefined && c.observability.callerHeader.trim() !== ''
          ? c.observability.callerHeader.trim().toLowerCase()
          : null,
    },
    accessLog:
      c.accessLog !== undefined
        ? {
            format: c.accessLog.format,
            filePath: c.accessLog.filePath !== undefined ? resolve(cwd, c.accessLog.filePath) : null,
            bufferingSize: c.accessLog.bufferingSize,
            fields: c.accessLog.fields as AccessLogFields,
          }
        : null,
    logFile: c.log.filePath !== undefined ? resolve(cwd, c.log.filePath) : null,
    entryPointMiddlewares: Object.fromEntries(
      Object.entries(c.entryPoints).map(([n, e]) => [n, (e.http.middlewares as string[]).map((m) => (m.includes('@') ? m : `${m}@file`))]),
    ),
    redirections: Object.entries(c.entryPoints).flatMap(([n, e]) => {
      const r = e.http.redirections?.entryPoint;
      if (r === undefined) return [];
      const to = r.to.startsWith(':')
        ? Number(r.to.slice(1))
        : c.entryPoints[r.to] !== undefined
          ? parseAddress(c.entryPoints[r.to]!.address).port
          : NaN;
      if (!Number.isInteger(to))
        throw new Error(`entryPoints.${n}.http.redirections.entryPoint.to: "${r.to}" is neither an entry point nor ":port"`);
      return [{ from: n, scheme: r.scheme, port: to, permanent: r.permanent, priority: r.priority }];
    }),
    entryPointTls: Object.fromEntries(
      Object.entries(c.entryPoints)
        .filter(([, e]) => e.http.tls !== undefined)
        .map(([n, e]) => [
          n,
          {
            ...(e.http.tls?.options !== undefined ? { options: e.http.tls.options } : {}),
            ...(e.http.tls?.certResolver !== undefined ? { certResolver: e.http.tls.certResolver } : {}),
            ...(e.http.tls?.domains !== undefined ? { domains: e.http.tls.domains.map((d) => ({ main: d.main, sans: [...d.sans] })) } : {}),
          },
        ]),
    ),
    certificateResolvers: Object.keys(c.certificatesResolvers),
    acme: acmeFromStatic(c, cwd),
    dns: dnsOptionsFromStatic(c.dns, cwd),
    defaultTransport: {
      insecureSkipVerify: c.serversTransport.insecureSkipVerify,
      rootCAs: c.serversTransport.rootCAs as string[],
      maxIdleConnsPerHost: c.serversTransport.maxIdleConnsPerHost,
    },
    pingTerminatingStatus: c.ping?.terminatingStatusCode ?? 503,
    logLevel: c.log.level,
    identity: { enabled: true, insecure: c.identity.insecure, issuerBaseUrl: c.identity.issuerBaseUrl ?? null },
    secrets: secretsOptionsFromStatic(c.secrets, cwd),
    redis: redisOptionsFromStatic(c.redis, cwd),
    workers: c.workers ?? availableParallelism(),
    dataDir: resolve(cwd, c.dataDir ?? '.gatehouse'),
    defaultRuleSyntax: c.core.defaultRuleSyntax,
    throttleMs: c.providers.providersThrottleDuration,
    maxHeaderSize: 16 * 1024,
  };
}

/** `certificatesResolvers.<name>.acme`: each checked; every problem named by its flag, all at once. */
function acmeFromStatic(c: StaticConfig, cwd: string): AcmeResolverConfig[] {
  const out: AcmeResolverConfig[] = [];
  const errors: string[] = [];
  for (const [name, r] of Object.entries(c.certificatesResolvers)) {
    if (r.acme === undefined) {
      errors.push(`certificatesresolvers.${name}: only acme resolvers exist (set certificatesresolvers.${name}.acme.*)`);
      continue;
    }
    const v = validateAcmeResolver(name, r.acme, {
      dataDir: resolve(cwd, c.dataDir ?? '.gatehouse'),
      entryPoints: Object.keys(c.entryPoints),
    });
    errors.push(...v.errors);
    if (v.config !== undefined) out.push(v.config);
  }
  if (errors.length > 0) throw new Error(errors.join('\n'));
  return out;
}

/**
 * `entryPoints.<name>.proxyProtocol` (`trustedIPs`, `insecure`; docs/tcp.md): read when the static schema
 * has it (an optional object; absent: no PROXY header is expected).
 */
function proxyProtocolOf(ep: object): { proxyProtocol?: { trustedIPs: string[]; insecure: boolean } } {
  const pp = (ep as { proxyProtocol?: { trustedIPs?: unknown; insecure?: unknown } }).proxyProtocol;
  if (pp === undefined || pp === null) return {};
  const trusted = Array.isArray(pp.trustedIPs) ? pp.trustedIPs.filter((x): x is string => typeof x === 'string') : [];
  return { proxyProtocol: { trustedIPs: trusted, insecure: pp.insecure === true } };
}
