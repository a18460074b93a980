/**
 * The Kubernetes objects of a set of YAML documents, indexed by kind and
 * namespace/name, with the helpers every converter uses to read fields and
 * report issues at the right file, line, object and field.
 */
import type { ConfigIssue, IssueCode, SourceLocation } from '../../../errors.js';
import type { ConfigFragment, SourceDocument } from '../../../config/model.js';
import { didYouMean } from '../../../util/closest.js';

export type Path = readonly (string | number)[];

export interface K8sObject {
  readonly apiVersion: string;
  readonly group: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  readonly doc: SourceDocument;
  /** Path of the object inside its document (`[]`, or `['items', 3]` inside a List). */
  readonly base: Path;
  readonly raw: Readonly<Record<string, unknown>>;
  /** `IngressRoute add/calc-svc`. */
  readonly label: string;
}

export interface ResolvedOptions {
  readonly allowCrossNamespace: boolean;
  readonly allowExternalNameServices: boolean;
  /** Keep a Service without ready endpoints (no servers: 503); false: the route using it is not created (Traefik's flag). */
  readonly allowEmptyServices: boolean;
  readonly namespaces: ReadonlySet<string> | null;
  readonly defaultNamespace: string;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** `['spec', 'routes', 0, 'match']` → `spec.routes[0].match`. */
export function fieldPath(path: Path): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

const key = (namespace: string, name: string): string => `${namespace}/${name}`;

/** Everything a converter needs: options, indexes, the fragment being filled. */
export class ConvertContext {
  readonly services = new Map<string, K8sObject>();
  readonly endpoints = new Map<string, K8sObject>();
  readonly endpointSlices = new Map<string, K8sObject[]>();
  readonly secrets = new Map<string, K8sObject>();
  /** Secrets written by AzureKeyVaultSecret objects (`namespace/name` → the object's name); data resolved at compile time. */
  readonly externalSecrets = new Map<string, { readonly akvName: string }>();
  /** Namespaces that define a TLSOption named `default`. */
  readonly defaultTlsNamespaces: string[] = [];
  /** Namespaces that define a TLSStore named `default`. */
  readonly defaultStoreNamespaces: string[] = [];
  /** Secrets (`namespace/name`) already added to `tls.certificates` (Traefik's tlsConfigs key: the first use wins). */
  readonly tlsSecrets = new Set<string>();

  constructor(
    readonly opts: ResolvedOptions,
    readonly fragment: ConfigFragment,
  ) {}

  index(obj: K8sObject): void {
    const k = key(obj.namespace, obj.name);
    switch (obj.kind) {
      case 'Service':
        this.services.set(k, obj);
        break;
      case 'Endpoints':
        this.endpoints.set(k, obj);
        break;
      case 'Secret':
        this.secrets.set(k, obj);
        break;
      case 'EndpointSlice': {
        const labels = isRecord(obj.raw.metadata) && isRecord(obj.raw.metadata.labels) ? obj.raw.metadata.labels : {};
        const svc = asString(labels['kubernetes.io/service-name']);
        if (svc === undefined) {
          this.warn(
            obj,
            ['metadata', 'labels'],
            'EndpointSlice without the kubernetes.io/service-name label is ignored: expected the name of its Service',
          );
          return;
        }
        const list = this.endpointSlices.get(key(obj.namespace, svc)) ?? [];
        list.push(obj);
        this.endpointSlices.set(key(obj.namespace, svc), list);
        break;
      }
      default:
        break;
    }
  }

  service(namespace: string, name: string): K8sObject | undefined {
    return this.services.get(key(namespace, name));
  }
  endpointsOf(namespace: string, name: string): K8sObject | undefined {
    return this.endpoints.get(key(namespace, name));
  }
  slicesOf(namespace: string, name: string): readonly K8sObject[] {
    return this.endpointSlices.get(key(namespace, name)) ?? [];
  }
  secret(namespace: string, name: string): K8sObject | undefined {
    return this.secrets.get(key(namespace, name));
  }
  /** True when `namespace/name` is a Secret whose data comes from Azure Key Vault. */
  isExternalSecret(namespace: string, name: string): boolean {
    return this.externalSecrets.has(key(namespace, name));
  }

  /** Read the field at `path` (relative to the object). */
  get(obj: K8sObject, path: Path): unknown {
    let cur: unknown = obj.raw;
    for (const p of path) {
      if (typeof p === 'number') cur = Array.isArray(cur) ? cur[p] : undefined;
      else cur = isRecord(cur) ? cur[p] : undefined;
      if (cur === undefined) return undefined;
    }
    return cur;
  }

  /** Where the field at `path` of `obj` is: file, nearest known line, object and field. */
  loc(obj: K8sObject, path: Path): SourceLocation {
    let line: number | undefined;
    for (let n = path.length; n >= 0 && line === undefined; n--) line = obj.doc.lineOf([...obj.base, ...path.slice(0, n)]);
    const loc: SourceLocation = { file: obj.doc.file, object: obj.label };
    if (line !== undefined) loc.line = line;
    if (path.length > 0) loc.field = fieldPath(path);
    return loc;
  }

  error(obj: K8sObject, path: Path, message: string, code?: IssueCode): void {
    this.push({ ...this.loc(obj, path), message, severity: 'error', ...(code !== undefined ? { code } : {}) });
  }
  warn(obj: K8sObject, path: Path, message: string): void {
    this.push({ ...this.loc(obj, path), message, severity: 'warning' });
  }
  push(issue: ConfigIssue): void {
    this.fragment.issues.push(issue);
  }
  /**
   * A warning per field of `value` (at `path`) that the CRD does not define,
   * naming the closest known one: the API server would drop it without a
   * word, so a typo (`weigth`) silently changes what the object means.
   */
  unknownFields(obj: K8sObject, value: Record<string, unknown>, path: Path, known: readonly string[]): void {
    for (const k of Object.keys(value)) {
      if (known.includes(k)) continue;
      this.warn(obj, [...path, k], `unknown field "${k}"${didYouMean(k, known)}: ignored (the Kubernetes API server drops it)`);
    }
  }
}

/** A conversion failure of one item, reported at `path` of the object being converted. */
export class ConvertFailure extends Error {
  constructor(
    readonly path: Path,
    message: string,
    /** The issue code when more specific than the compiler's default (GH_CONFIG_INVALID). */
    readonly code?: IssueCode,
  ) {
    super(message);
    this.name = 'ConvertFailure';
  }
}
