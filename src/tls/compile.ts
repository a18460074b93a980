/**
 * The `tls` section of the snapshot: every provider's certificates, stores and
 * options, compiled once where the configuration is compiled. Certificates are
 * read and checked here (an unreadable file, a key that does not match, an
 * expired certificate is an issue on that certificate; the rest serves); the
 * section holds only their public description, and the PEM material stays in
 * the compiling process, handed to serving processes on request
 * (`tls.material`), never in the snapshot, `/api/rawdata` or logs.
 */
import type { ConfigIssue, SourceLocation } from '../errors.js';
import type { ConfigFragment } from '../config/model.js';
import type { RuntimeRouter, Snapshot } from '../config/runtime.js';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { TlsOptionsSchema, type TlsOptionsConfig } from '../config/tls-schema.js';
import { describeSchemaError } from '../config/compile/validate.js';
import { compileRule } from '../rules/index.js';
import { isInlinePem, loadCertificate, type CertificateInfo, type CertificateMaterial } from './certificates.js';
import { compileTlsOptions, DEFAULT_TLS_OPTIONS, type CompiledTlsOptions } from './options.js';

/** What an entry point's `http.tls` gives the routers attached to it that have no `tls` of their own. */
export interface EntryPointTls {
  readonly options?: string;
  readonly certResolver?: string;
  readonly domains?: ReadonlyArray<{ main?: string; sans?: string[] }>;
}

export type CertificateSource = 'file' | 'inline' | 'kubernetes' | 'acme' | 'generated';

export interface TlsCertificateEntry extends CertificateInfo {
  /** The fingerprint; what serving processes ask the material for. */
  readonly id: string;
  readonly source: CertificateSource;
  /** The provider that delivered it (`file`, `kubernetescrd`, `acme`, …); `internal` for the generated one. */
  readonly provider: string;
  /** The certificate's file (absent when inline). */
  readonly certFile?: string;
  readonly stores: string[];
  /** ACME: the resolver that issued it. */
  readonly resolver?: string;
}

/** The compiled TLS section (snapshot.sections.tls): plain JSON, no private key. */
export interface TlsSection {
  /** TLS options by qualified name; `default` always exists. */
  readonly options: Record<string, CompiledTlsOptions>;
  readonly certificates: TlsCertificateEntry[];
  /** The default store's default certificate (configured, else the generated one). */
  readonly defaultCertificate: string | null;
  /** SNI host → TLS options name, from the Host rules of TLS routers (Traefik's per-host options). */
  readonly hostOptions: Record<string, string>;
  /** Entry points whose routers all speak TLS (`entryPoints.<name>.http.tls`). */
  readonly entryPointTls: Record<string, EntryPointTls>;
  /** Every file the certificates and options were read from (paths only): watched, a change compiles again. */
  readonly files: string[];
  /** Effective TLS of every TLS router: which options and resolver it uses. */
  readonly routers: Record<string, { options: string; certResolver?: string; domains?: Array<{ main?: string; sans?: string[] }> }>;
}

export const TLS_SECTION = 'tls';

export interface TlsCompileInput {
  readonly fragments: readonly ConfigFragment[];
  readonly snapshot: Snapshot;
  readonly entryPointTls: Record<string, EntryPointTls>;
  /** Resolver names configured in the static configuration (`certificatesResolvers.<name>`). */
  readonly resolvers: readonly string[];
  /** Gatehouse's own self-signed default certificate (absent in `check`). */
  readonly generated?: { readonly material: CertificateMaterial; readonly info: CertificateInfo };
  readonly now?: number;
}

export interface TlsCompileOutput {
  readonly section: TlsSection;
  /** PEM material by certificate id: kept by the compiling process only. */
  readonly material: Map<string, CertificateMaterial>;
  readonly issues: ConfigIssue[];
}

const optionsCheck = TypeCompiler.Compile(TlsOptionsSchema);

function issueAt(source: SourceLocation, message: string, field?: string): ConfigIssue {
  return {
    ...source,
    ...(field !== undefined ? { field: `${source.field ?? ''}${source.field ? '.' : ''}${field}` } : {}),
    code: 'GH_TLS_INVALID',
    message,
  };
}

/** A router speaks TLS on entry point `ep` when it has `tls` or the entry point gives it one. */
export function routerTlsOn(r: RuntimeRouter, ep: string, section: Pick<TlsSection, 'entryPointTls'> | undefined): boolean {
  return r.config.tls !== undefined || section?.entryPointTls[ep] !== undefined;
}

export function compileTls(input: TlsCompileInput): TlsCompileOutput {
  const issues: ConfigIssue[] = [];
  const material = new Map<string, CertificateMaterial>();
  const certificates: TlsCertificateEntry[] = [];
  const now = input.now ?? Date.now();
  const files = new Set<string>();
  const read = (v: string): void => {
    if (!isInlinePem(v)) files.add(v);
  };

  // Options: `default` is global (one provider may define it), the others are qualified by provider.
  const options: Record<string, CompiledTlsOptions> = { default: DEFAULT_TLS_OPTIONS };
  let defaultFrom: string | null = null;
  for (const frag of input.fragments) {
    for (const [name, item] of Object.entries(frag.tlsOptions)) {
      const qualified = name === 'default' ? 'default' : name.includes('@') ? name : `${name}@${frag.provider}`;
      const raw = item.value as TlsOptionsConfig;
      if (!optionsCheck.Check(raw)) {
        const first = [...optionsCheck.Errors(raw)][0];
        issues.push(
          issueAt(
            item.source,
            `TLS options "${qualified}": ${first === undefined ? 'invalid' : `${first.path.slice(1).replace(/\//g, '.')}: ${describeSchemaError(first)}`}`,
          ),
        );
        continue;
      }
      for (const f of raw.clientAuth?.caFiles ?? []) read(f);
      const { options: compiled, problems } = compileTlsOptions(raw);
      for (const p of problems) issues.push(issueAt(item.source, `TLS options "${qualified}": ${p.path}: ${p.message}`, p.path));
      if (compiled === undefined) continue;
      if (qualified === 'default') {
        if (defaultFrom !== null) {
          issues.push(
            issueAt(
              item.source,
              `TLS options "default" are defined by providers ${defaultFrom} and ${frag.provider}: Traefik's defaults are used`,
            ),
          );
          options.default = DEFAULT_TLS_OPTIONS;
          continue;
        }
        defaultFrom = frag.provider;
      }
      options[qualified] = compiled;
    }
  }

  // Certificates: each checked on its own; a broken one is left out with an issue naming it.
  const add = (
    certFile: string,
    keyFile: string,
    source: SourceLocation,
    provider: string,
    stores: string[],
    extra?: { resolver?: string; source?: CertificateSource },
  ): string | null => {
    read(certFile);
    read(keyFile);
    try {
      const { material: m, info } = loadCertificate(certFile, keyFile, now);
      const id = info.fingerprint;
      if (!material.has(id)) {
        material.set(id, m);
        certificates.push({
          ...info,
          id,
          source: extra?.source ?? (provider === 'kubernetescrd' ? 'kubernetes' : isInlinePem(certFile) ? 'inline' : 'file'),
          provider,
          ...(isInlinePem(certFile) ? {} : { certFile }),
          stores,
          ...(extra?.resolver !== undefined ? { resolver: extra.resolver } : {}),
        });
      }
      return id;
    } catch (err) {
      issues.push(issueAt(source, `certificate not served: ${(err as Error).message}`));
      return null;
    }
  };
  let defaultCertificate: string | null = null;
  for (const frag of input.fragments) {
    for (const item of frag.tlsCertificates ?? []) {
      const stores = item.value.stores ?? ['default'];
      for (const s of stores)
        if (s !== 'default')
          issues.push(issueAt(item.source, `TLS store "${s}" does not exist: only "default" is served (as Traefik)`, 'stores'));
      add(
        item.value.certFile,
        item.value.keyFile,
        item.source,
        frag.provider,
        stores,
        frag.provider === 'acme' ? { source: 'acme', resolver: item.source.object ?? '' } : undefined,
      );
    }
    for (const [name, item] of Object.entries(frag.tlsStores ?? {})) {
      if (name !== 'default') {
        issues.push({
          ...item.source,
          severity: 'warning',
          code: 'GH_TLS_INVALID',
          message: `TLS store "${name}" is ignored: only "default" is served (as Traefik)`,
        });
        continue;
      }
      const dc = item.value.defaultCertificate;
      if (dc !== undefined) {
        const id = add(dc.certFile, dc.keyFile, item.source, frag.provider, ['default']);
        if (id !== null) {
          if (defaultCertificate !== null && defaultCertificate !== id)
            issues.push(
              issueAt(item.source, 'the default TLS store has several default certificates: the first one is served', 'defaultCertificate'),
            );
          else defaultCertificate = id;
        }
      }
      const gen = item.value.defaultGeneratedCert;
      if (gen !== undefined && !input.resolvers.includes(gen.resolver))
        issues.push(
          issueAt(
            item.source,
            `defaultGeneratedCert.resolver "${gen.resolver}" is not a configured certificate resolver`,
            'defaultGeneratedCert.resolver',
          ),
        );
    }
  }
  if (defaultCertificate === null && input.generated !== undefined) {
    const id = input.generated.info.fingerprint;
    material.set(id, input.generated.material);
    certificates.push({ ...input.generated.info, id, source: 'generated', provider: 'internal', stores: ['default'] });
    defaultCertificate = id;
  }

  // Routers: the TLS options and resolver each TLS router uses; per-host options for SNI.
  const routers: TlsSection['routers'] = {};
  const hostOptions: Record<string, string> = {};
  const conflicts = new Set<string>();
  for (const r of Object.values(input.snapshot.routers)) {
    if (r.status === 'disabled') continue;
    const tlsEps = r.entryPoints.filter((ep) => routerTlsOn(r, ep, { entryPointTls: input.entryPointTls }));
    if (tlsEps.length === 0) continue;
    const own = r.config.tls ?? input.entryPointTls[tlsEps[0] as string] ?? {};
    const written = own.options ?? 'default';
    const name = written === 'default' || written.includes('@') ? written : `${written}@${r.provider}`;
    if (options[name] === undefined) {
      r.errors.push(`unknown TLS options: ${name}`);
      r.status = 'disabled';
      issues.push({
        ...r.source,
        code: 'GH_TLS_INVALID',
        field: `${r.source.field ?? ''}.tls.options`,
        message: `router "${r.name}": unknown TLS options "${name}": the router is disabled`,
      });
      continue;
    }
    const resolver = own.certResolver;
    if (resolver !== undefined && resolver !== '' && !input.resolvers.includes(resolver))
      issues.push({
        ...r.source,
        severity: 'warning',
        code: 'GH_TLS_INVALID',
        message: `router "${r.name}": certificate resolver "${resolver}" is not configured (certificatesResolvers.${resolver}): no certificate is ordered for it`,
      });
    routers[r.name] = {
      options: name,
      ...(resolver !== undefined && resolver !== '' ? { certResolver: resolver } : {}),
      ...(own.domains !== undefined ? { domains: own.domains.map((d) => ({ ...d })) } : {}),
    };
    let hosts: readonly string[] | null = null;
    try {
      hosts = compileRule(r.config.rule, r.ruleSyntax).hosts;
    } catch {
      hosts = null;
    }
    for (const h of hosts ?? []) {
      const prev = hostOptions[h];
      if (prev === undefined && !conflicts.has(h)) hostOptions[h] = name;
      else if (prev !== undefined && prev !== name) {
        conflicts.add(h);
        delete hostOptions[h];
        issues.push({
          ...r.source,
          severity: 'warning',
          code: 'GH_TLS_INVALID',
          message: `host "${h}" has routers with different TLS options (${prev}, ${name}): the default TLS options are used for it (as Traefik)`,
        });
      }
    }
  }

  return {
    section: {
      options,
      certificates,
      defaultCertificate,
      hostOptions,
      entryPointTls: input.entryPointTls,
      files: [...files].sort(),
      routers,
    },
    material,
    issues,
  };
}
