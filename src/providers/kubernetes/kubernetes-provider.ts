/**
 * The live `kubernetescrd` provider (Traefik's, with its flags): watches the
 * Kubernetes API (informers.ts: list, then watch with resourceVersion and
 * bookmarks, relist on 410, back-off) and sends everything it holds through
 * the same translation as Kubernetes objects read from files
 * (`providers/formats/kubernetes`), one whole message per change, at most one
 * per throttleDuration. A lost API server never empties the configuration:
 * the objects last seen keep serving and the status says why (docs/kubernetes.md).
 */
import { hostname } from 'node:os';
import { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import type { SourceDocument } from '../../config/model.js';
import type { Snapshot } from '../../config/runtime.js';
import type { ConfigIssue } from '../../errors.js';
import type { Logger } from '../../log.js';
import { fromKubernetesObjects } from '../formats/kubernetes/convert.js';
import type { Provider, ProviderCondition, ProviderMessage, ProviderStatus } from '../types.js';
import { apiVersionOf, CRD_KINDS, ENDPOINT_SLICE, ENDPOINTS, OPTIONAL_KINDS, SECRET, SERVICE, type WatchedKind } from './kinds.js';
import { ResilientInformer, type Obj } from './informer.js';
import type { KubernetesProviderConfig } from './options.js';
import { referencedSecrets } from './secret-refs.js';
import { EventRecorder } from './events.js';
import { LeaderElector } from './lease.js';
import { issuesByFile, readyCondition, sourceFileOf, STATUS_KINDS } from './object-status.js';
import { restClient } from './rest.js';
import { StatusWriter, type DesiredStatus } from './status-writer.js';
import { TokenBucket } from './token-bucket.js';
import { TokenFileAuth, tokenFileUser } from './token-file.js';

export interface KubernetesProviderOptions {
  config: KubernetesProviderConfig;
  log: Logger;
  /** Longest start() waits for the first lists (default 10 s); the provider then emits what it has. */
  startTimeoutMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  /** Tests only (not flags): shorter Lease and Event timings, a chosen holder identity. */
  statusTiming?: StatusTiming;
  /** Called when this replica gains or loses the Lease (the primary refreshes gatehouse_kubernetes_leader). */
  onLeaderChange?: (leader: boolean) => void;
}

/** The provider's entry in GET /api/providers: the common status and this replica's view of the Lease. */
export interface KubernetesProviderStatus extends ProviderStatus {
  /** This replica holds the `gatehouse-status` Lease (writes status and Events). False in `check`/`diff`, which never compete. */
  readonly leader: boolean;
  /** `namespace/name` of the Lease. */
  readonly lease: string;
  /** holderIdentity of the Lease as last read ('' when none, or not read yet). */
  readonly leaseHolder: string;
  /** leaseTransitions of the Lease as last read (absent before it was read). */
  readonly leaseTransitions?: number;
}

export interface StatusTiming {
  /** holderIdentity (default: POD_NAME or the host name, `_`, the pid). */
  identity?: string;
  /** leaseDurationSeconds × 1000 (default 15 s; written rounded up to whole seconds). */
  leaseDurationMs?: number;
  /** Renew period of the leader, retry period of the others (default 5 s). */
  renewMs?: number;
  /** Least time between two Event writes about one object (default 10 s). */
  eventIntervalMs?: number;
  /** Hand the Lease back on close (default true); false in tests of an expiring Lease. */
  releaseOnStop?: boolean;
}

/** The Lease the replicas compete for. */
export const LEASE_NAME = 'gatehouse-status';

const NAME = 'kubernetescrd';
const INGRESS_CLASS = 'kubernetes.io/ingress.class';

/**
 * A KubeConfig from the flags, in-cluster (service-account files), or KUBECONFIG.
 * A token file (the service-account token) is read again when it changes
 * (token-file.ts); a kubeconfig's own `tokenFile` is @kubernetes/client-node's (re-read every minute).
 */
export function kubeConfigFor(c: KubernetesProviderConfig): KubeConfig {
  const kc = new KubeConfig();
  if (c.source === 'kubeconfig' && c.kubeconfigPath !== undefined) {
    kc.loadFromFile(c.kubeconfigPath);
    return kc;
  }
  kc.addAuthenticator(new TokenFileAuth());
  const user =
    c.token !== undefined ? { name: NAME, token: c.token } : c.tokenFile !== undefined ? tokenFileUser(NAME, c.tokenFile) : { name: NAME };
  kc.loadFromOptions({
    clusters: [
      {
        name: NAME,
        server: c.endpoint ?? '',
        skipTLSVerify: false,
        ...(c.certAuthFilePath !== undefined ? { caFile: c.certAuthFilePath } : {}),
      },
    ],
    users: [user],
    contexts: [{ name: NAME, cluster: NAME, user: NAME }],
    currentContext: NAME,
  });
  return kc;
}

export class LiveKubernetesProvider implements Provider {
  readonly name = NAME;
  readonly #o: KubernetesProviderOptions;
  readonly #kc: KubeConfig;
  readonly #api: KubernetesObjectApi;
  readonly #server: string;
  readonly #informers: ResilientInformer[] = [];
  readonly #secrets = new Map<string, ResilientInformer>();
  #emit: ((m: ProviderMessage) => void) | null = null;
  #timer: NodeJS.Timeout | null = null;
  #lastEmit = 0;
  #closed = false;
  #revision = 0;
  #status: ProviderStatus;
  #downSince: string | null = null;
  /** What the last message carried (objects and the down state), to skip one that would change nothing but statuses. */
  #fingerprint = '';
  /** The status-bearing objects of the last message sent (the snapshot after it was compiled from them). */
  #sent: Obj[] = [];
  #issues: Map<string, ConfigIssue[]> | null = null;
  /** Optional kinds found absent and logged (`apiVersion/plural`). */
  readonly #absentLogged = new Set<string>();
  readonly #elector: LeaderElector;
  #electing = false;
  readonly #writer: StatusWriter;
  readonly #events: EventRecorder;

  constructor(o: KubernetesProviderOptions) {
    this.#o = o;
    this.#kc = kubeConfigFor(o.config);
    this.#api = this.#kc.makeApiClient(KubernetesObjectApi);
    this.#server = this.#kc.getCurrentCluster()?.server ?? o.config.endpoint ?? '';
    this.#status = {
      name: NAME,
      type: NAME,
      url: this.#server,
      state: 'starting',
      revision: '',
      lastUpdate: '',
      message: '',
      conditions: [this.#ready('Unknown', 'Progressing', 'listing the watched kinds', new Date().toISOString())],
    };
    const t = o.statusTiming ?? {};
    const identity = t.identity ?? `${process.env.POD_NAME?.trim() || hostname()}_${process.pid}`;
    const rest = restClient(this.#kc, `gatehouse (${identity})`);
    const bucket = new TokenBucket(10, 20);
    const log = o.log;
    this.#writer = new StatusWriter({ rest, bucket, leader: () => this.#elector.leader, log });
    this.#events = new EventRecorder({
      rest,
      bucket,
      identity,
      log,
      ...(t.eventIntervalMs !== undefined ? { minIntervalMs: t.eventIntervalMs } : {}),
    });
    this.#elector = new LeaderElector({
      rest,
      namespace: o.config.leaseNamespace ?? 'default',
      name: LEASE_NAME,
      identity,
      ...(t.leaseDurationMs !== undefined ? { durationMs: t.leaseDurationMs } : {}),
      ...(t.renewMs !== undefined ? { renewMs: t.renewMs } : {}),
      ...(t.releaseOnStop !== undefined ? { releaseOnStop: t.releaseOnStop } : {}),
      log,
      onChange: (leader) => {
        if (leader) this.#reconcileStatus();
        else this.#events.clear();
        o.onLeaderChange?.(leader);
      },
    });
  }

  /** Whether this replica holds the Lease (writes status and Events). */
  get leader(): boolean {
    return this.#elector.leader;
  }

  /** Status and Event writes made by this replica. */
  get writes(): { status: number; events: number } {
    return { status: this.#writer.writes, events: this.#events.writes };
  }

  /** A compiled snapshot (every provider's items): each object's Ready condition follows its issues. */
  onSnapshot(snapshot: Snapshot): void {
    if (this.#closed) return;
    // Only a process that hands snapshots back (serve, not check or diff) competes for the Lease.
    if (!this.#electing) {
      this.#electing = true;
      this.#elector.start();
    }
    this.#issues = issuesByFile(snapshot.issues);
    this.#reconcileStatus();
  }

  #reconcileStatus(): void {
    if (this.#closed || this.#issues === null) return;
    const cached = new Map<string, Obj>();
    for (const i of this.#informers)
      if (STATUS_KINDS.has(i.kind.kind))
        for (const o of i.objects()) cached.set(`${o.apiVersion}/${o.kind}/${o.metadata?.namespace}/${o.metadata?.name}`, o);
    const desired: DesiredStatus[] = [];
    for (const sent of this.#sent) {
      const now = cached.get(`${sent.apiVersion}/${sent.kind}/${sent.metadata?.namespace}/${sent.metadata?.name}`);
      // Deleted, or changed since the snapshot was compiled: the next snapshot decides.
      if (now === undefined || now.metadata?.generation !== sent.metadata?.generation) continue;
      const condition = readyCondition(sent, this.#issues.get(sourceFileOf(sent, this.#server)) ?? []);
      desired.push({ object: now, condition });
      if (condition.status === 'False' && this.#elector.leader) this.#events.record(now, condition.reason, condition.message);
    }
    this.#writer.update(desired);
  }

  #ready(status: ProviderCondition['status'], reason: string, message: string, at: string): ProviderCondition {
    return { type: 'Ready', status, reason, message, lastTransitionTime: at };
  }

  #informer(kind: WatchedKind, namespace: string | null, fieldSelector?: string): ResilientInformer {
    const c = this.#o.config;
    return new ResilientInformer({
      kc: this.#kc,
      api: this.#api,
      kind,
      namespace,
      ...(kind.crd && c.labelSelector !== undefined ? { labelSelector: c.labelSelector } : {}),
      ...(fieldSelector !== undefined ? { fieldSelector } : {}),
      onChange: () => this.#changed(),
      ...(this.#o.backoff !== undefined ? { backoff: this.#o.backoff } : {}),
    });
  }

  async start(emit: (msg: ProviderMessage) => void): Promise<void> {
    this.#emit = emit;
    const namespaces: Array<string | null> = this.#o.config.namespaces.length > 0 ? this.#o.config.namespaces : [null];
    for (const ns of namespaces)
      for (const k of [...CRD_KINDS, ...OPTIONAL_KINDS, SERVICE, ENDPOINT_SLICE, ENDPOINTS]) this.#informers.push(this.#informer(k, ns));
    for (const i of this.#informers) i.start();
    const wait = this.#o.startTimeoutMs ?? 10_000;
    await Promise.race([Promise.all(this.#informers.map((i) => i.settled)), new Promise((r) => setTimeout(r, wait).unref())]);
    this.#syncSecrets();
    await Promise.race([Promise.all([...this.#secrets.values()].map((i) => i.settled)), new Promise((r) => setTimeout(r, wait).unref())]);
    this.#send();
  }

  /** Watch the Secrets the objects name, and only those. */
  #syncSecrets(): void {
    const crds = this.#informers.filter((i) => i.kind.crd).flatMap((i) => i.objects());
    const wanted = referencedSecrets(this.#filter(crds));
    for (const [key, inf] of this.#secrets)
      if (!wanted.has(key)) {
        void inf.stop();
        this.#secrets.delete(key);
      }
    for (const key of wanted) {
      if (this.#secrets.has(key)) continue;
      const slash = key.indexOf('/');
      const ns = key.slice(0, slash);
      if (this.#o.config.namespaces.length > 0 && !this.#o.config.namespaces.includes(ns)) continue;
      const inf = this.#informer(SECRET, ns, `metadata.name=${key.slice(slash + 1)}`);
      this.#secrets.set(key, inf);
      inf.start();
    }
  }

  /** ingressClass: only Traefik/Gatehouse objects annotated with it. */
  #filter(objects: Obj[]): Obj[] {
    const cls = this.#o.config.ingressClass;
    if (cls === undefined) return objects;
    return objects.filter((o) => o.metadata?.annotations?.[INGRESS_CLASS] === cls);
  }

  #changed(): void {
    if (this.#closed || this.#emit === null) return;
    this.#syncSecrets();
    if (this.#timer !== null) return;
    // Coalesce a burst (kubectl apply of many objects), then at most one message per throttleDuration.
    const wait = Math.max(50, this.#lastEmit + this.#o.config.throttleMs - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#send();
    }, wait);
  }

  /** An optional kind (DNSEndpoint) the cluster does not serve: said once, and once again when it appears. */
  #noteOptionalKinds(): void {
    for (const i of this.#informers) {
      if (!OPTIONAL_KINDS.includes(i.kind)) continue;
      const key = `${apiVersionOf(i.kind)}/${i.kind.plural}`;
      if (i.state === 'absent' && !this.#absentLogged.has(key)) {
        this.#absentLogged.add(key);
        this.#o.log.info(
          { provider: NAME, kind: i.kind.kind, apiVersion: apiVersionOf(i.kind) },
          `the Kubernetes API server ${this.#server} does not serve ${i.kind.plural}.${i.kind.group} (${apiVersionOf(i.kind)} ${i.kind.kind}; the CRD is installed with ExternalDNS): going on without ${i.kind.kind} objects, checking again every minute`,
        );
      } else if (i.state === 'up' && this.#absentLogged.delete(key))
        this.#o.log.info(
          { provider: NAME, kind: i.kind.kind },
          `${i.kind.kind} objects (${apiVersionOf(i.kind)}) are served now: watching them`,
        );
    }
  }

  #send(): void {
    if (this.#closed || this.#emit === null) return;
    this.#noteOptionalKinds();
    this.#lastEmit = Date.now();
    const all = [...this.#informers, ...this.#secrets.values()];
    const objects: Obj[] = [];
    for (const i of all) {
      const objs = i.objects();
      objects.push(...(i.kind.crd ? this.#filter(objs) : objs));
    }
    const down = all.filter((i) => i.state === 'down' || (i.state === 'starting' && !i.listed));
    // A change of statuses only (our own writes coming back) changes no configuration: nothing to send.
    const fingerprint = JSON.stringify([down.map((i) => `${i.kind.kind}:${i.error}`), objects.map(withoutStatus)]);
    if (fingerprint === this.#fingerprint) return;
    this.#fingerprint = fingerprint;
    this.#sent = objects.filter((o) => STATUS_KINDS.has(o.kind ?? '') && o.apiVersion !== undefined && /^traefik\./.test(o.apiVersion));
    const docs: SourceDocument[] = objects.map((o, index) => ({
      file: sourceFileOf(o, this.#server),
      index,
      value: o,
      lineOf: () => undefined,
    }));
    const fragment = fromKubernetesObjects(docs, {
      allowCrossNamespace: this.#o.config.allowCrossNamespace,
      allowExternalNameServices: this.#o.config.allowExternalNameServices,
      allowEmptyServices: this.#o.config.allowEmptyServices,
      namespaces: this.#o.config.namespaces,
    });
    const at = new Date().toISOString();
    const issues: ConfigIssue[] = [];
    let ready: ProviderCondition;
    const prev = this.#status.conditions?.find((c) => c.type === 'Ready');
    if (down.length > 0) {
      this.#downSince ??= at;
      const first = down[0]!;
      const message = `the Kubernetes API server ${this.#server} cannot be watched since ${this.#downSince} (${down.length} watch(es) down; ${first.kind.kind}: ${first.error || 'no answer yet'}): the objects last seen keep serving`;
      issues.push({ severity: 'warning', code: 'GH_PROVIDER_UNAVAILABLE', file: `(provider ${NAME})`, message });
      ready = this.#ready('False', 'WatchFailed', message, prev?.status === 'False' ? prev.lastTransitionTime : at);
    } else {
      this.#downSince = null;
      ready = this.#ready('True', 'Watching', `watching ${this.#server}`, prev?.status === 'True' ? prev.lastTransitionTime : at);
    }
    const rv = Math.max(0, ...objects.map((o) => Number(o.metadata?.resourceVersion ?? 0)).filter(Number.isFinite));
    const revision = `${rv}.${++this.#revision}`;
    this.#status = {
      ...this.#status,
      state: down.length > 0 ? 'degraded' : 'ready',
      revision,
      lastUpdate: at,
      message: down.length > 0 ? ready.message : '',
      lastAttemptedRevision: revision,
      lastAppliedRevision: revision,
      conditions: [ready],
      lastHandledAt: at,
    };
    if (down.length > 0) this.#o.log.warn({ provider: NAME }, ready.message);
    this.#emit({ provider: NAME, revision, fragments: [fragment], issues, refused: [] });
  }

  status(): KubernetesProviderStatus {
    const v = this.#elector.view;
    return {
      ...this.#status,
      leader: v.leader,
      lease: v.lease,
      leaseHolder: v.holder,
      ...(v.transitions !== undefined ? { leaseTransitions: v.transitions } : {}),
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#writer.stop();
    this.#events.stop();
    await this.#elector.stop();
    await Promise.all([...this.#informers, ...this.#secrets.values()].map((i) => i.stop()));
    this.#status = { ...this.#status, state: 'stopped' };
  }
}

/** An object without what changes on every status write (status, resourceVersion, managedFields). */
function withoutStatus(o: Obj): unknown {
  const { status: _s, metadata, ...rest } = o;
  const { resourceVersion: _r, managedFields: _m, ...meta } = metadata ?? {};
  return { ...rest, metadata: meta };
}
