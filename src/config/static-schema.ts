/**
 * The static configuration (how the process starts), as one TypeBox schema:
 * the single source of the StaticConfig type, of the flag/env/file key names
 * (Traefik's canonical spelling, matched case-insensitively), of the value
 * conversions, of the defaults and of `gatehouse serve --help`.
 *
 * Annotations read by the parser (src/config/static.ts):
 * - `default`: filled in when the key is absent;
 * - `description`: the one-line help;
 * - `x-duration`: a Go duration ("10s") or seconds in the input, milliseconds in the result;
 * - an optional object is a section (`--api` enables it with defaults, `--api=false` removes it);
 *   a required object is always present;
 * - a list of objects takes indexed keys: `--a.list[0].field`, `GATEHOUSE_A_LIST_0_FIELD`, in a file a list.
 */
import { Type, type Static, type TLiteral, type TUnion } from '@sinclair/typebox';

export const DURATION = 'x-duration';

const ms = (def: number, description: string): ReturnType<typeof Type.Number> =>
  Type.Number({ minimum: 0, default: def, description: `${description} (duration)`, [DURATION]: true });
const bool = (def: boolean, description: string): ReturnType<typeof Type.Boolean> => Type.Boolean({ default: def, description });
const str = (description: string): ReturnType<typeof Type.String> => Type.String({ description });
const list = (description: string): ReturnType<typeof Type.Array> =>
  Type.Array(Type.String(), { default: [], description: `${description} (comma-separated list)` });
function oneOf<const T extends readonly string[]>(values: T, def: T[number], description: string): TUnion<TLiteral<T[number]>[]> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    { default: def, description: `${description}: ${values.join('|')}` },
  ) as TUnion<TLiteral<T[number]>[]>;
}

const FieldMode = ['keep', 'drop', 'redact'] as const;
type FieldModeT = (typeof FieldMode)[number];

export const EntryPointSchema = Type.Object({
  address: Type.String({ description: 'listen address: ":8000", "127.0.0.1:8000", "[::1]:8000", optional "/tcp"' }),
  asDefault: bool(false, 'routers without entryPoints attach here (when no entry point sets it: all of them)'),
  forwardedHeaders: Type.Object({
    insecure: bool(false, 'trust X-Forwarded-* headers from any client'),
    trustedIPs: list('trust X-Forwarded-* headers from these IPs/CIDRs'),
  }),
  // HTTP/2 (h2c and h2 over TLS) limits (docs/tls.md, "HTTP/2 limits").
  http2: Type.Object({
    maxConcurrentStreams: Type.Integer({
      minimum: 1,
      maximum: 2147483647,
      default: 250,
      description: 'most concurrent HTTP/2 streams a client may open per connection (h2c and h2 over TLS)',
    }),
  }),
  // Inbound PROXY protocol (docs/tcp.md).
  proxyProtocol: Type.Optional(
    Type.Object({
      insecure: bool(false, 'use the PROXY protocol header from any peer'),
      trustedIPs: list('use the PROXY protocol header (v1, v2) from these IPs/CIDRs; other peers: the header is read and ignored'),
    }),
  ),
  transport: Type.Object({
    respondingTimeouts: Type.Object({
      readTimeout: ms(60_000, 'longest time to read a whole request, 0 = none (Traefik v3 default)'),
      writeTimeout: ms(0, 'longest time to write a response, 0 = none'),
      idleTimeout: ms(180_000, 'keep-alive idle time'),
    }),
    lifeCycle: Type.Object({
      requestAcceptGraceTimeout: ms(0, 'keep accepting requests this long after a shutdown signal'),
      graceTimeOut: ms(10_000, 'time in-flight requests get to finish on shutdown'),
    }),
  }),
  http: Type.Object({
    redirections: Type.Optional(
      Type.Object({
        entryPoint: Type.Optional(
          Type.Object({
            to: str('entry point name or ":port" to redirect to'),
            scheme: Type.String({ default: 'https', description: 'scheme of the redirect' }),
            permanent: bool(true, 'use 301/308 rather than 302/307'),
            priority: Type.Integer({ default: 2147483646, description: 'priority of the generated redirect router' }),
          }),
        ),
      }),
    ),
    middlewares: list('middlewares prepended to every router of this entry point'),
    server: oneOf(
      ['gatehouse', 'node'] as const,
      'gatehouse',
      "HTTP/1.1 server: the gateway's own (fast path) or node:http; upgrades and Expect always use node:http",
    ),
    sanitizePath: bool(true, 'resolve dot segments and merge repeated slashes in the request path before routing (Traefik v3)'),
    tls: Type.Optional(
      Type.Object({
        options: Type.Optional(str('TLS options name')),
        certResolver: Type.Optional(str('certificate resolver name')),
        // The default domains of the routers on this entry point that have no `tls` of their own:
        // each element is one certificate (main + SANs) ordered from the resolver (docs/tls.md).
        domains: Type.Optional(
          Type.Array(
            Type.Object({
              main: str('main domain of the certificate the resolver orders for routers on this entry point'),
              sans: Type.Array(Type.String(), {
                default: [],
                description: 'subject alternative names of that certificate (comma-separated list)',
              }),
            }),
            { description: 'default certificate domains of the routers on this entry point' },
          ),
        ),
      }),
    ),
  }),
});

// The `dns` section (docs/dns.md); checked by dnsOptionsFromStatic (src/dns/options.ts).
/** A choice without a default (the caller checks that it is given). */
function oneOfRequired<const T extends readonly string[]>(values: T, description: string): TUnion<TLiteral<T[number]>[]> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    { description: `${description}: ${values.join('|')}` },
  ) as TUnion<TLiteral<T[number]>[]>;
}

export const DNS_PROVIDERS = ['pdns', 'rfc2136'] as const;
export type DnsProviderKind = (typeof DNS_PROVIDERS)[number];
export const TSIG_ALGORITHMS = ['hmac-sha256', 'hmac-sha512'] as const;

/** The `dns` section of the static configuration (`--dns.*`, docs/dns.md "Flags"). */
export const DnsStaticSchema = Type.Object({
  provider: Type.Optional(oneOfRequired(DNS_PROVIDERS, 'DNS server the router hosts are published to (required)')),
  targets: list('addresses the router hosts point to: IPv4 as A, IPv6 as AAAA records (or --dns.targethostname)'),
  targethostname: Type.Optional(str('host name the router hosts point to: CNAME, ALIAS at a zone apex (or --dns.targets)')),
  domainfilters: list('publish only hosts in these domains (example.com: it and below; .example.com: below only)'),
  excludedomains: list('never publish hosts in these domains'),
  policy: Type.Optional(oneOfRequired(['sync', 'upsert-only', 'create-only'] as const, 'what the publisher may change (required)')),
  txtowner: Type.String({ default: 'default', description: 'owner id written in the TXT ownership records (no "," or "=")' }),
  txtprefix: Type.String({ default: '%{record_type}-gh.', description: 'name prefix of the TXT ownership records' }),
  ttl: Type.Integer({ minimum: 1, maximum: 2147483647, default: 300, description: 'TTL of published records, seconds' }),
  interval: ms(60_000, 'how often the zones are read and brought in line; also the grace before a record is deleted'),
  mineventsyncinterval: ms(5_000, 'after a configuration change, publish no sooner than this after the previous pass'),
  dryrun: bool(false, 'plan and log, change nothing'),
  once: bool(false, 'publish once after the first configuration, then stop'),
  maxdeletes: Type.Integer({ default: 10, description: 'refuse a plan deleting more records than this (negative: no limit)' }),
  checkaddress: Type.Optional(
    str(
      'host:port of the DNS server asked after each publish (default: the RFC 2136 server; PowerDNS: the API host, port 53; "off": none)',
    ),
  ),
  pdns: Type.Optional(
    Type.Object({
      server: Type.String({ default: 'http://127.0.0.1:8081', description: 'PowerDNS API base URL' }),
      serverid: Type.String({ default: 'localhost', description: 'PowerDNS server id' }),
      apikeyfile: Type.Optional(str('file holding the PowerDNS API key (never a flag value)')),
    }),
  ),
  rfc2136: Type.Optional(
    Type.Object({
      host: Type.Optional(str('primary DNS server taking dynamic updates')),
      port: Type.Integer({ minimum: 1, maximum: 65535, default: 53, description: 'its TCP port' }),
      zone: list('zones to manage'),
      tsigkeyname: Type.Optional(str('TSIG key name')),
      tsigsecretfile: Type.Optional(str('file holding the TSIG secret in base64, or a BIND key file (never a flag value)')),
      tsigalgorithm: oneOf(TSIG_ALGORITHMS, 'hmac-sha256', 'TSIG algorithm'),
      axfr: bool(true, 'read the zones by zone transfer (without it plans are create-only)'),
    }),
  ),
});

export type DnsStaticSection = Static<typeof DnsStaticSchema>;

export const StaticConfigSchema = Type.Object({
  global: Type.Object({
    checkNewVersion: bool(false, 'accepted for Traefik compatibility; ignored'),
    sendAnonymousUsage: bool(false, 'accepted for Traefik compatibility; ignored'),
  }),
  entryPoints: Type.Record(Type.String(), EntryPointSchema, { default: {}, description: 'entry points by name' }),
  serversTransport: Type.Object({
    insecureSkipVerify: bool(false, 'do not verify backend TLS certificates'),
    rootCAs: list('extra CA files trusted for backends'),
    maxIdleConnsPerHost: Type.Integer({ minimum: 0, default: 200, description: 'idle keep-alive connections per backend' }),
  }),
  providers: Type.Object({
    providersThrottleDuration: ms(
      200,
      'wait this long after a provider change before applying the next (Traefik: 2s; Gatehouse applies file changes within a second)',
    ),
    file: Type.Optional(
      Type.Object({
        directory: Type.Optional(str('directory of dynamic configuration files (read recursively)')),
        filename: Type.Optional(str('one dynamic configuration file')),
        watch: bool(true, 'reload on change'),
      }),
    ),
    git: Type.Optional(
      Type.Object({
        url: Type.Optional(str('repository: file://, a local path, https:// or ssh://user@host/repo.git (docs/gitops.md)')),
        branch: Type.Optional(str("branch to follow (default: the remote's HEAD)")),
        tag: Type.Optional(str('tag to follow (wins over branch)')),
        semver: Type.Optional(str('semver range: the highest matching tag, e.g. "~1" or ">=1.2 <2" (wins over tag)')),
        commit: Type.Optional(str('commit SHA (wins over semver; with a branch: must be on it)')),
        paths: list('folders of the repository to read (default: the root); a folder with kustomization.yaml is rendered by kustomize'),
        kustomizeroot: Type.Optional(str('folder whose overlays (leaf kustomizations, .flux.yaml folders) are discovered and rendered')),
        interval: ms(60_000, 'how often the remote is polled'),
        timeout: ms(60_000, 'longest time a git or kustomize command may run'),
        sshkeyfile: Type.Optional(str('private key file for ssh:// (a deploy key)')),
        knownhostsfile: Type.Optional(str('known_hosts file for ssh:// (host keys are always checked)')),
        tokenfile: Type.Optional(str('file holding a token for https://')),
        usernamefile: Type.Optional(str('file holding the user name for https://')),
        passwordfile: Type.Optional(str('file holding the password for https://')),
        cafile: Type.Optional(str('CA certificates (PEM) to check the https:// server against, instead of the system ones')),
        webhook: Type.Optional(
          Type.Object({
            secretfile: Type.Optional(str('file holding the secret of POST /api/providers/git/hook')),
          }),
        ),
      }),
    ),
    kubernetesCRD: Type.Optional(
      Type.Object({
        endpoint: Type.Optional(str('Kubernetes API server URL (default: in-cluster)')),
        token: Type.Optional(str('bearer token for the API server')),
        certAuthFilePath: Type.Optional(str('CA file of the API server')),
        namespaces: list('namespaces to watch (default all)'),
        allowCrossNamespace: bool(false, 'allow references across namespaces'),
        allowExternalNameServices: bool(false, 'allow ExternalName services'),
        allowEmptyServices: bool(false, 'allow services without endpoints (they answer 503)'),
        labelSelector: Type.Optional(str('only objects matching this label selector')),
        ingressClass: Type.Optional(str('only objects with this kubernetes.io/ingress.class annotation')),
        throttleDuration: ms(2000, 'minimum time between two applied changes'),
        leaseNamespace: Type.Optional(str('namespace of the gatehouse-status Lease (default: POD_NAMESPACE, else default)')),
      }),
    ),
  }),
  api: Type.Optional(
    Type.Object({
      insecure: bool(false, 'serve the API and dashboard on the traefik entry point, unprotected'),
      dashboard: bool(true, 'enable the dashboard'),
      debug: bool(false, 'enable debug endpoints'),
    }),
  ),
  ping: Type.Optional(
    Type.Object({
      entryPoint: Type.String({ default: 'traefik', description: 'entry point serving /ping' }),
      manualRouting: bool(false, 'do not create the /ping router (route ping@internal yourself)'),
      terminatingStatusCode: Type.Integer({ minimum: 100, maximum: 599, default: 503, description: 'status of /ping while shutting down' }),
    }),
  ),
  accessLog: Type.Optional(
    Type.Object({
      filePath: Type.Optional(str('write access logs to this file (default stdout)')),
      format: oneOf(['common', 'json'] as const, 'common', 'access log format'),
      bufferingSize: Type.Integer({ minimum: 0, default: 0, description: 'lines buffered before writing' }),
      fields: Type.Object({
        defaultMode: oneOf(FieldMode, 'keep', 'fields kept by default'),
        names: Type.Record(Type.String(), oneOf(FieldMode, 'keep', 'per-field mode'), { default: {}, description: 'per-field mode' }),
        headers: Type.Object({
          defaultMode: oneOf(FieldMode, 'drop', 'request headers kept by default'),
          names: Type.Record(Type.String(), oneOf(FieldMode, 'keep', 'per-header mode'), { default: {}, description: 'per-header mode' }),
        }),
      }),
    }),
  ),
  log: Type.Object({
    level: oneOf(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL', 'PANIC'] as const, 'ERROR', 'log level'),
    format: oneOf(['common', 'json'] as const, 'common', 'log format'),
    filePath: Type.Optional(str('write logs to this file (default stderr)')),
  }),
  metrics: Type.Object({
    prometheus: Type.Optional(
      Type.Object({
        entryPoint: Type.String({ default: 'traefik', description: 'entry point serving /metrics' }),
        manualRouting: bool(false, 'do not create the /metrics router (route prometheus@internal yourself)'),
        addEntryPointsLabels: bool(true, 'entry point metrics'),
        addRoutersLabels: bool(false, 'router metrics'),
        addServicesLabels: bool(true, 'service metrics'),
        buckets: Type.Array(Type.Number({ minimum: 0 }), {
          default: [0.1, 0.3, 1.2, 5],
          description: 'latency histogram buckets in seconds (comma-separated list)',
        }),
      }),
    ),
  }),
  observability: Type.Object({
    metrics: bool(
      true,
      'record golden metrics of every request (stat, top, edges, /metrics, alerts); false keeps only tap and the access log',
    ),
    callerHeader: Type.Optional(str('request header naming the caller when no verified token does (default: the client address)')),
  }),
  core: Type.Object({
    defaultRuleSyntax: oneOf(['v2', 'v3'] as const, 'v2', 'rule syntax of routers that do not set ruleSyntax'),
  }),
  identity: Type.Object({
    insecure: bool(false, 'serve the token endpoint on the traefik entry point'),
    issuerBaseUrl: Type.Optional(str('public base URL of the token issuer (iss claim)')),
  }),
  secrets: Type.Object({
    refreshinterval: ms(300_000, 'how often secrets from Azure Key Vault are read again (docs/secrets.md)'),
    azurekeyvault: Type.Optional(
      Type.Object({
        tenantid: Type.Optional(str('tenant (directory) id of the client that reads Key Vault')),
        clientid: Type.Optional(str('application (client) id that reads Key Vault (client-credentials flow)')),
        clientsecretfile: Type.Optional(str('file holding that client secret (never a flag value)')),
        authorityhost: Type.String({ default: 'https://login.microsoftonline.com', description: 'Microsoft identity platform host' }),
        vaulturltemplate: Type.String({
          default: 'https://{name}.vault.azure.net',
          description: 'URL of a vault; {name} is spec.vault.name',
        }),
      }),
    ),
  }),
  // DNS records for every router host (docs/dns.md): PowerDNS or RFC 2136; also ACME dns-01.
  dns: Type.Optional(DnsStaticSchema),
  // Rate and in-flight limits shared by every replica through Redis (docs/redis.md).
  redis: Type.Optional(
    Type.Object({
      endpoints: list('Redis addresses host:port shared by every replica; several name a Redis Cluster'),
      username: Type.Optional(str('Redis ACL user (Redis 6 and later)')),
      passwordfile: Type.Optional(str('file holding the Redis password (never a flag value)')),
      db: Type.Integer({ minimum: 0, default: 0, description: 'Redis database number' }),
      tls: Type.Optional(
        Type.Object({
          ca: Type.Optional(str('CA certificate file (PEM) that signed the Redis server certificate')),
          cert: Type.Optional(str('client certificate file (PEM)')),
          key: Type.Optional(str('client key file (PEM)')),
          insecureSkipVerify: bool(false, 'do not verify the Redis server certificate'),
        }),
      ),
      replicas: Type.Integer({
        minimum: 1,
        default: 1,
        description: 'replicas sharing the limits: onFailure=local allows 1/replicas on each',
      }),
      timeout: ms(500, 'longest wait for one Redis call'),
      cooldown: ms(5000, 'after 3 consecutive Redis failures, how long Redis is not asked before one probe'),
    }),
  ),
  // ACME certificate resolvers (docs/tls.md); checked by validateAcmeResolver (src/tls/acme/config.ts).
  certificatesResolvers: Type.Record(
    Type.String(),
    Type.Object({
      acme: Type.Optional(
        Type.Object({
          email: Type.Optional(str('account e-mail address given to the CA')),
          storage: Type.Optional(str('acme.json file (default: acme.json in --datadir; mode 600)')),
          caServer: Type.Optional(str("ACME directory URL (default: Let's Encrypt production)")),
          caCertificates: Type.Optional(list('PEM files trusted for the ACME server (private CAs, tests)')),
          keyType: Type.Optional(str('certificate key: EC256 (default), EC384, RSA2048, RSA4096')),
          certificatesDuration: Type.Optional(
            Type.Integer({ minimum: 1, description: 'certificate lifetime the CA gives, hours (default 2160)' }),
          ),
          preferredChain: Type.Optional(str('issuer CN of the preferred alternate chain')),
          eab: Type.Optional(
            Type.Object({
              kid: Type.Optional(str('external account binding key id')),
              hmacEncoded: Type.Optional(str('external account binding HMAC key, base64url')),
            }),
          ),
          httpChallenge: Type.Optional(Type.Object({ entryPoint: Type.Optional(str('entry point (port 80) answering http-01')) })),
          tlsChallenge: Type.Optional(Type.Object({})),
          dnsChallenge: Type.Optional(
            Type.Object({
              provider: Type.Optional(str('DNS provider writing the TXT record: pdns or rfc2136 (docs/dns.md)')),
              resolvers: Type.Optional(list('resolvers host:port asked whether the TXT record is visible')),
              delayBeforeCheck: Type.Optional(str('wait this long after writing the TXT record (Go duration)')),
            }),
          ),
        }),
      ),
    }),
    { default: {}, description: 'certificate resolvers by name' },
  ),
  workers: Type.Integer({ minimum: 1, maximum: 1024, description: 'worker processes (default: available CPUs)' }),
  dataDir: Type.String({ description: 'state directory (default: .gatehouse in the working directory)' }),
  configFile: Type.Optional(str('static configuration file (YAML or TOML)')),
});

export type StaticConfig = Static<typeof StaticConfigSchema>;
export type EntryPointConfig = Static<typeof EntryPointSchema>;
export type AccessLogFieldMode = FieldModeT;
