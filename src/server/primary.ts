/**
 * The primary half of Gatehouse, the same in the one process and in a
 * cluster's primary: the configuration watcher (providers → one compiled
 * snapshot per change) with the one list of primary listeners (the reload
 * metrics, the alert engine, delivery to the serving processes), and the
 * answers to the serving processes' questions.
 */
import type { Logger } from '../log.js';
import type { ConfigFragment } from '../config/model.js';
import type { Snapshot } from '../config/runtime.js';
import { sectionOf } from '../config/kinds.js';
import { AlertEngine, alertRulesKind } from '../alerts/index.js';
import { IdentityProvider } from '../identity/index.js';
import type { PrimaryBackplane } from '../cluster/backplane.js';
import type { ConfigWatcher } from './config-watcher.js';
import { createConfigWatcher } from './config-pipeline.js';
import type { ServeOptions } from './options.js';
import { primaryQueries, type CertificateSource } from './telemetry.js';
import { SecretStore, SECRETS_PROVIDER } from '../secrets/index.js';
import { readFile } from 'node:fs/promises';
import { GitProvider } from '../providers/git/index.js';
import { DeliveryLog, verifyWebhook } from '../providers/git/webhook.js';
import { KubernetesProvider } from '../providers/kubernetes/index.js';
import { admissionReviewer } from './admission-wiring.js';
import type { CertificateMaterial } from '../tls/certificates.js';
import { generateDefaultCertificate } from '../tls/generated.js';
import { CertificateFilesWatch } from '../tls/file-watch.js';
import { DnsPublisher } from '../dns/publisher.js';
import { dnsPrometheusText } from '../dns/metrics.js';
import { createDnsProvider } from '../dns/options.js';
import type { DnsProvider } from '../dns/types.js';
import type { Dns01Solver } from '../tls/acme/index.js';
import { TLS_SECTION, type TlsSection } from '../tls/compile.js';

export interface PrimaryDeps {
  log: Logger;
  extraFragments?: readonly ConfigFragment[];
}

export interface Primary {
  readonly watcher: ConfigWatcher;
  /** The first snapshot (already published). */
  readonly first: Snapshot;
  close(): Promise<void>;
}

/** Create (or rotate) the issuer's signing keys once, before any serving process loads them. */
async function prepareIdentityKeys(o: ServeOptions, log: Logger): Promise<void> {
  if (!(o.identity.enabled || o.identity.insecure)) return;
  const idp = new IdentityProvider({ dataDir: o.dataDir, log });
  await idp.init();
  await idp.close();
}

/** The webhook's answer, sent back by the serving process. */
export interface WebhookAnswer {
  status: 202 | 400 | 401 | 404;
  message: string;
}

/** Checks a git webhook delivery and asks the git provider to reconcile now. */
function gitWebhookHandler(o: ServeOptions, watcher: ConfigWatcher, log: Logger): (args: unknown) => Promise<WebhookAnswer> {
  const deliveries = new DeliveryLog();
  return async (args) => {
    const provider = watcher.provider('git');
    const secretFile = o.git?.webhookSecretFile;
    if (!(provider instanceof GitProvider) || secretFile === undefined)
      return { status: 404, message: 'the git webhook is not enabled: set --providers.git.url and --providers.git.webhook.secretfile' };
    const a = (args ?? {}) as { headers?: Record<string, string | string[] | undefined>; body?: string };
    let secret: Buffer;
    try {
      secret = Buffer.from((await readFile(secretFile, 'utf8')).trim(), 'utf8');
    } catch (err) {
      log.error({ err: (err as NodeJS.ErrnoException).code ?? String(err) }, 'git webhook: the secret file cannot be read');
      return { status: 401, message: 'the webhook secret cannot be read on the gateway; see its log' };
    }
    if (secret.length === 0) return { status: 401, message: 'the webhook secret file is empty on the gateway' };
    const v = verifyWebhook(secret, a.headers ?? {}, Buffer.from(a.body ?? '', 'base64'));
    if (!v.ok) {
      log.warn({ status: v.status }, `git webhook refused: ${v.reason}`);
      return { status: v.status, message: v.reason };
    }
    if (v.deliveryId !== null && !deliveries.first(`${v.source}:${v.deliveryId}`))
      return { status: 202, message: `delivery ${v.deliveryId} was already handled: ignored` };
    void provider.reconcileNow().catch((err: unknown) => log.error({ err }, 'git webhook: reconcile failed'));
    log.info({ source: v.source, delivery: v.deliveryId }, 'git webhook: reconciling now');
    return { status: 202, message: `reconciling now (${v.source}${v.deliveryId !== null ? ` delivery ${v.deliveryId}` : ''})` };
  };
}

export async function startPrimary(o: ServeOptions, bp: PrimaryBackplane, deps: PrimaryDeps): Promise<Primary> {
  const { log } = deps;
  await prepareIdentityKeys(o, log);
  const kv = o.secrets.azureKeyVault;
  const secrets =
    kv === null
      ? null
      : new SecretStore({ ...kv, refreshIntervalMs: o.secrets.refreshIntervalMs, log: log.child({ provider: SECRETS_PROVIDER }) });
  // TLS: the PEM material of the revision in force, handed to serving processes on request (never in a snapshot).
  let tlsMaterial = new Map<string, CertificateMaterial>();
  const generated = await generateDefaultCertificate();
  // ACME: the engine runs here only; its certificates come back as the `acme` provider (src/server/acme-wiring.ts).
  // DNS: the record publisher (a primary listener) and, for ACME dns-01, the same provider (docs/dns.md).
  const dns = o.dns === null || o.dns.publish === false ? null : new DnsPublisher({ options: o.dns, log: log.child({ service: 'dns' }) });
  const dns01 = await dns01Solvers(o);
  // The ACME client and its dependencies load only when a resolver is configured: unused modules in the
  // serving heap cost requests per CPU-second (docs/benchmarks.md).
  const acme =
    o.acme.length === 0
      ? null
      : await (await import('./acme-wiring.js')).startAcme(o, log, dns01 === undefined ? {} : { dns01: dns01.solvers });
  const watcher = createConfigWatcher(o, {
    log,
    watch: true,
    secrets,
    acme: acme?.provider ?? null,
    tls: { generated, onMaterial: (m) => (tlsMaterial = m) },
    ...(deps.extraFragments !== undefined ? { extraFragments: deps.extraFragments } : {}),
  });
  // Certificates in use (the generated default one is left out: it never expires in use).
  const certificates: CertificateSource = () =>
    ((bp.latest?.sections?.[TLS_SECTION] as TlsSection | undefined)?.certificates ?? [])
      .filter((c) => c.source !== 'generated')
      .map((c) => ({ name: c.commonName || (c.names[0] ?? c.id), sans: c.names, notAfter: Date.parse(c.notAfter) }));
  const alerts = new AlertEngine({ metrics: bp.metrics, log: log.child({ service: 'alerts' }), certificates });
  const gitWebhook = gitWebhookHandler(o, watcher, log);
  const queries = primaryQueries(bp.metrics, o, {
    alerts: () => alerts.states(),
    certs: certificates,
    providers: () => watcher.providerStatuses(),
  });
  bp.serve({
    ...queries,
    // The DNS publisher's families beside the rest (its counters live in the primary).
    ...(dns !== null
      ? { prometheus: async (a: unknown) => `${String(await queries.prometheus?.(a))}${dnsPrometheusText(dns.counters())}` }
      : {}),
    // GET /api/dns and the DNS state of each router.
    dns: () => dns?.status() ?? null,
    dnsRouters: () => dns?.routerStates() ?? {},
    dnsTcpRouters: () => dns?.tcpRouterStates() ?? {},
    // GET /api/secrets: where each Key Vault secret comes from, its version and last refresh; never a value.
    secrets: () => secrets?.statuses() ?? [],
    // POST /api/providers/git/hook, checked here (one delivery log for every worker).
    gitWebhook: (a) => gitWebhook(a),
    // POST /api/admission/validate: the verdict against the configuration in force (src/admin/admission.ts).
    admission: admissionReviewer(o, watcher),
    // TLS: the PEM material of certificates a serving process lacks (src/server/tls-serving.ts).
    'tls.material': (a) => {
      const ids = Array.isArray((a as { ids?: unknown } | null)?.ids)
        ? ((a as { ids: unknown[] }).ids.filter((x) => typeof x === 'string') as string[])
        : [];
      const out: Record<string, CertificateMaterial> = {};
      for (const id of ids) {
        const m = tlsMaterial.get(id);
        if (m !== undefined) out[id] = m;
      }
      return out;
    },
    // ACME tls-alpn-01 challenge certificates (none pending without a certificate resolver).
    'tls.alpnChallenge': () => null,
    'tls.http01': () => null,
    'tls.acme': () => [],
    ...(acme?.rpc ?? {}),
  });
  // The primary listeners, in order: every snapshot, the first one included.
  watcher.addListener((s) => {
    bp.metrics.recordConfigReload(s.issues.every((i) => i.severity === 'warning'));
    const stale: Record<string, boolean> = Object.fromEntries(watcher.providerStatuses().map((p) => [p.name, false]));
    for (const r of s.refused ?? []) stale[r.provider] = true;
    bp.metrics.setConfigStale(stale);
    bp.metrics.setProviders(
      watcher.providerStatuses().map((p) => ({
        name: p.name,
        ready:
          (p.conditions?.find((c) => c.type === 'Ready')?.status ?? (p.state === 'ready' ? 'True' : 'False')) === 'True' && !stale[p.name],
        revision: p.lastAppliedRevision ?? p.revision,
      })),
    );
  });
  watcher.addListener((s) => alerts.apply(sectionOf(s, alertRulesKind)?.rules ?? []));
  watcher.addListener((s) => bp.publish(s));
  if (dns !== null) watcher.addListener((s) => dns.update(s));
  // ACME: order what the TLS routers ask their resolvers for, before traffic needs it.
  if (acme !== null) {
    watcher.addListener((s) => acme.onSnapshot(s));
    bp.metrics.setAcmeOrders(acme.engine.orderCounts());
    acme.engine.onOrder(() => bp.metrics.setAcmeOrders(acme.engine.orderCounts()));
  }
  // The kubernetescrd provider writes each object's Ready status and Events from the snapshot's issues (docs/kubernetes.md).
  const kube = watcher.provider('kubernetescrd');
  if (kube instanceof KubernetesProvider) {
    watcher.addListener((s) => kube.onSnapshot(s));
    // gatehouse_kubernetes_leader follows the Lease, not the snapshots.
    bp.metrics.setKubernetesLeader(kube.name, false);
    kube.onLeaderChange((leader) => bp.metrics.setKubernetesLeader(kube.name, leader));
  }
  const first = await watcher.start();
  // Certificate files replaced on disk (cert-manager, certbot): compile again, new handshakes get them.
  const certFiles = new CertificateFilesWatch(
    () => (bp.latest?.sections?.[TLS_SECTION] as TlsSection | undefined)?.files ?? [],
    (changed) => {
      log.info({ files: changed }, 'TLS: certificate files changed: reloading the configuration');
      watcher.recompile();
    },
  );
  certFiles.start();
  dns?.start();
  return {
    watcher,
    first,
    async close() {
      certFiles.close();
      await dns?.close();
      await watcher.close();
      alerts.close();
      await acme?.close();
      await dns01?.close();
    },
  };
}

/** ACME dns-01 solvers: resolvers naming a DNS provider write through the one configured with --dns.* (docs/tls.md). */
async function dns01Solvers(o: ServeOptions): Promise<{ solvers: Record<string, Dns01Solver>; close(): Promise<void> } | undefined> {
  const wanting = o.acme.filter((r) => r.dnsChallenge !== undefined);
  if (o.dns !== null && o.dns.publish === false && !wanting.some((r) => r.dnsChallenge?.provider === o.dns?.provider))
    throw new Error(
      `--dns.provider=${o.dns.provider}: nothing uses it: set --dns.policy with --dns.targets or --dns.targethostname to publish records, or name it in --certificatesresolvers.<name>.acme.dnschallenge.provider (docs/dns.md)`,
    );
  if (wanting.length === 0) return undefined;
  const { dns01SolverFor } = await import('../tls/acme/index.js');
  const out: Record<string, Dns01Solver> = {};
  // One solver for every resolver: its writes to the DNS server go one at a time.
  let solver: Dns01Solver | undefined;
  let provider: DnsProvider | undefined;
  for (const r of wanting) {
    const kind = r.dnsChallenge?.provider;
    if (o.dns === null || o.dns.provider !== kind)
      throw new Error(
        `certificatesresolvers.${r.name}.acme.dnschallenge.provider=${kind ?? ''}: configure that DNS provider with --dns.provider=${kind ?? ''} and its --dns.${kind ?? ''}.* flags (docs/dns.md)`,
      );
    provider ??= createDnsProvider(o.dns);
    solver ??= dns01SolverFor(provider);
    out[r.name] = solver;
  }
  return { solvers: out, close: async () => provider?.close() };
}
