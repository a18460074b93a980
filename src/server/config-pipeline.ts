/**
 * The configuration side of the composition root: which providers run (the
 * provider registry: each entry turns the static options into a provider, or
 * none), and how their fragments become one snapshot (the internal routers,
 * the compiler, the Gatehouse kind compilers). A new provider is one entry in
 * PROVIDERS; a new Gatehouse kind is one entry in KIND_COMPILERS.
 */
import { formatIssue, type ConfigIssue } from '../errors.js';
import type { Logger } from '../log.js';
import type { ConfigFragment } from '../config/model.js';
import { compileConfig } from '../config/compile.js';
import { compileKinds, type KindCompiler } from '../config/kinds.js';
import { internalFragment } from '../config/internal.js';
import { builtinRegistry } from '../middlewares/builtin.js';
import { builtinServices } from '../services/builtin.js';
import { FileProvider } from '../providers/file/index.js';
import { GitProvider } from '../providers/git/index.js';
import { KubernetesProvider } from '../providers/kubernetes/index.js';
import type { Provider } from '../providers/types.js';
import { resolveExternalSecrets } from '../providers/formats/kubernetes/external-secrets.js';
import type { SecretStore } from '../secrets/index.js';
import { identityKind } from '../identity/kind.js';
import { alertRulesKind } from '../alerts/kind.js';
import { ConfigWatcher, type CompileFn } from './config-watcher.js';
import { compileTls, TLS_SECTION } from '../tls/compile.js';
import { compileTcp, TCP_SECTION } from '../tcp/compile.js';
import type { CertificateInfo, CertificateMaterial } from '../tls/certificates.js';
import type { ServeOptions } from './options.js';

export interface PipelineDeps {
  log: Logger;
  /** Watch sources for changes (serve) or read them once (check). */
  watch: boolean;
  /** Extra fragments (tests, the demo). */
  extraFragments?: readonly ConfigFragment[];
  /** The Key Vault secret store of the primary (a provider too); absent in check and without --secrets.azurekeyvault.*. */
  secrets?: SecretStore | null;
  /** The certificates ACME resolvers obtained (a provider too); absent in check and without resolvers. */
  acme?: Provider | null;
  /** TLS in a serving primary: the generated default certificate, and where each revision's PEM material goes (never the snapshot). */
  tls?: {
    readonly generated?: { readonly material: CertificateMaterial; readonly info: CertificateInfo };
    onMaterial(material: Map<string, CertificateMaterial>): void;
  };
}

type ProviderFactory = (o: ServeOptions, deps: PipelineDeps) => Provider | null;

/** The provider registry, in merge order. */
const PROVIDERS: readonly ProviderFactory[] = [
  // Emits (no fragments) whenever a Key Vault value changes, so the configuration is compiled again.
  (_o, deps) => deps.secrets ?? null,
  (o, deps) =>
    o.file === null
      ? null
      : new FileProvider({
          ...(o.file.filename !== undefined ? { filename: o.file.filename } : {}),
          ...(o.file.directory !== undefined ? { directory: o.file.directory } : {}),
          watch: o.file.watch && deps.watch,
          kubernetes: o.kubernetes,
          log: deps.log,
        }),
  (o, deps) =>
    o.git === null ? null : new GitProvider({ git: o.git, dataDir: o.dataDir, watch: deps.watch, kubernetes: o.kubernetes, log: deps.log }),
  (o, deps) => (o.kubernetesApi === null ? null : new KubernetesProvider({ config: o.kubernetesApi, log: deps.log })),
  // The ACME engine's certificates (src/server/acme-wiring.ts): one more source of tls.certificates.
  (_o, deps) => deps.acme ?? null,
];

/** The Gatehouse kind compilers; each fills one section of the snapshot. */
export const KIND_COMPILERS: readonly KindCompiler[] = [identityKind, alertRulesKind];

export function createProviders(o: ServeOptions, deps: PipelineDeps): Provider[] {
  return PROVIDERS.map((f) => f(o, deps)).filter((p): p is Provider => p !== null);
}

/** Internal services that exist with these options (others answer 404 and are refused as references). */
export function internalServiceNames(o: ServeOptions): string[] {
  const names = ['noop@internal'];
  if (o.api.enabled || o.api.insecure) {
    names.push('api@internal');
    if (o.api.dashboard) names.push('dashboard@internal');
  }
  if (o.ping !== null) names.push('ping@internal');
  if (o.metrics !== null) names.push('prometheus@internal');
  if (o.identity.enabled || o.identity.insecure) names.push('identity@internal');
  if (o.acme.some((r) => r.httpChallenge !== undefined)) names.push('acme-http@internal');
  return names;
}

/** Problems of the static configuration reported with every snapshot. */
export function staticIssues(o: ServeOptions): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  if (o.kubernetesCrd && o.kubernetesApi === null) {
    out.push({
      severity: 'warning',
      code: 'GH_PROVIDER_UNAVAILABLE',
      file: '(static configuration)',
      field: 'providers.kubernetesCRD',
      message:
        'no Kubernetes API server located (no providers.kubernetesCRD.endpoint, KUBERNETES_SERVICE_HOST or KUBECONFIG): Kubernetes objects (IngressRoute, Middleware, Service, Endpoints) are read from the file provider only (docs/kubernetes.md)',
    });
  }
  return out;
}

/** Fragments of every provider → one snapshot with its Gatehouse kind sections. */
export function createCompile(o: ServeOptions, deps: PipelineDeps): CompileFn {
  const registry = builtinRegistry();
  const services = builtinServices();
  const internal = internalFragment({
    api: o.api.insecure ? 'traefik' : null,
    dashboard: o.api.dashboard,
    ping: o.ping !== null && o.ping.entryPoint !== '' ? o.ping.entryPoint : null,
    metrics: o.metrics?.entryPoint ?? null,
    identity: o.identity.insecure ? 'traefik' : null,
    redirections: o.redirections,
    acmeHttp: [...new Set(o.acme.flatMap((r) => (r.httpChallenge !== undefined ? [r.httpChallenge.entryPoint] : [])))],
  });
  const fixedIssues = staticIssues(o);
  const internalServices = internalServiceNames(o);
  const entryPoints = o.entryPoints.map((e) => e.name);
  const logged = new Set<string>();
  return ({ fragments, issues, refused, revision, trial }) => {
    // Secrets from Key Vault (docs/secrets.md): values in force now; a trial (a revision's verdict) does not judge the vault.
    const external = resolveExternalSecrets(fragments, {
      source: deps.secrets ?? null,
      mode: trial === true || !deps.watch ? 'check' : 'serve',
    });
    if (trial !== true) deps.secrets?.want(external.wants);
    const snap = compileConfig({
      fragments: [...external.fragments, internal, ...(deps.extraFragments ?? [])],
      entryPoints,
      defaultEntryPoints: o.defaultEntryPoints,
      defaultRuleSyntax: o.defaultRuleSyntax,
      registry,
      services,
      revision,
      internalServices,
    });
    const kinds = compileKinds(KIND_COMPILERS, snap.resources);
    snap.sections = kinds.sections;
    // TLS: certificates read and checked here; the section is public, the PEM material stays in this process.
    const tls = compileTls({
      fragments: [...external.fragments, ...(deps.extraFragments ?? [])],
      snapshot: snap,
      entryPointTls: o.entryPointTls,
      resolvers: o.certificateResolvers,
      ...(deps.tls?.generated !== undefined ? { generated: deps.tls.generated } : {}),
    });
    snap.sections[TLS_SECTION] = tls.section;
    kinds.issues.push(...tls.issues);
    if (trial !== true) deps.tls?.onMaterial(tls.material);
    // TCP routers (docs/tcp.md): checked and resolved here; the serving side builds one runtime per entry point.
    const tcp = compileTcp({
      fragments: [...external.fragments, ...(deps.extraFragments ?? [])],
      snapshot: snap,
      entryPoints,
      defaultEntryPoints: o.defaultEntryPoints,
      defaultRuleSyntax: o.defaultRuleSyntax,
      tls: tls.section,
    });
    snap.sections[TCP_SECTION] = tcp.section;
    kinds.issues.push(...tcp.issues);
    // Source problems first: they explain what the items' errors may stem from.
    snap.issues.unshift(...issues, ...fixedIssues);
    snap.issues.push(...kinds.issues);
    for (const i of snap.issues) i.code ??= 'GH_CONFIG_INVALID';
    snap.refused = refused;
    if (trial === true) return snap;
    logIssues(deps.log, snap.revision, snap.issues, logged);
    deps.log.info(
      {
        revision: snap.revision,
        routers: Object.keys(snap.routers).length,
        services: Object.keys(snap.services).length,
        middlewares: Object.keys(snap.middlewares).length,
        errors: snap.issues.filter((i) => i.severity !== 'warning').length,
      },
      'configuration compiled',
    );
    return snap;
  };
}

/**
 * Each problem is logged once, when it appears (not again on every later
 * compile while it lasts), and its end is logged at info level.
 */
function logIssues(log: Logger, revision: number, issues: readonly ConfigIssue[], logged: Set<string>): void {
  const now = new Set<string>();
  for (const i of issues) {
    const text = formatIssue(i);
    now.add(text);
    if (logged.has(text)) continue;
    if (i.severity === 'warning') log.warn({ file: i.file, revision, code: i.code }, text);
    else log.error({ file: i.file, revision, code: i.code }, text);
  }
  for (const text of logged) if (!now.has(text)) log.info({ revision }, `resolved: ${text}`);
  logged.clear();
  for (const t of now) logged.add(t);
}

export function createConfigWatcher(o: ServeOptions, deps: PipelineDeps): ConfigWatcher {
  return new ConfigWatcher({
    providers: createProviders(o, deps),
    compile: createCompile(o, deps),
    throttleMs: o.throttleMs,
    log: deps.log,
  });
}
