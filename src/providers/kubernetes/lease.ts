/**
 * Leader election on a `coordination.k8s.io/v1` Lease, as client-go's
 * leaderelection does it: the holder renews `spec.renewTime` every renew
 * period; another replica takes the Lease over only when it has seen the
 * same record unchanged for `leaseDurationSeconds` (measured on its own
 * clock, so clocks need not agree); every write carries the
 * resourceVersion read, so two candidates cannot both win (409 Conflict).
 * A leader that cannot renew within two thirds of the duration steps down
 * before anyone can take over.
 */
import type { Logger } from '../../log.js';
import { statusMessage, type RestCall } from './rest.js';

export interface LeaseOptions {
  rest: RestCall;
  namespace: string;
  name: string;
  /** holderIdentity: pod name (or hostname) + pid. */
  identity: string;
  /** leaseDurationSeconds × 1000 (default 15 s). */
  durationMs?: number;
  /** How often the holder renews and a candidate tries (default 5 s). */
  renewMs?: number;
  onChange: (leader: boolean) => void;
  log: Logger;
  /** On stop, hand the Lease back (holderIdentity "") so another replica takes over at once (default true, as client-go's ReleaseOnCancel). */
  releaseOnStop?: boolean;
}

/** What this replica last saw of the Lease (for GET /api/providers and the metric). */
export interface LeaseView {
  /** `namespace/name` of the Lease. */
  readonly lease: string;
  readonly leader: boolean;
  /** holderIdentity last seen ('' when none or not read yet). */
  readonly holder: string;
  /** leaseTransitions last seen (undefined before the Lease was read). */
  readonly transitions?: number;
}

type Lease = Record<string, unknown> & {
  metadata?: { resourceVersion?: string };
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; leaseTransitions?: number; acquireTime?: string; renewTime?: string };
};

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
const microTime = (d = new Date()): string => d.toISOString().replace(/Z$/, '000Z');

export class LeaderElector {
  readonly #o: LeaseOptions;
  readonly #durationMs: number;
  readonly #renewMs: number;
  #leader = false;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  #lastRenew = 0;
  /** The last record seen of another holder, and when it was first seen (our clock). */
  #observed: { key: string; at: number } | null = null;
  #running: Promise<void> = Promise.resolve();
  #lastError = '';
  #holder = '';
  #transitions: number | undefined;

  constructor(o: LeaseOptions) {
    this.#o = o;
    this.#durationMs = o.durationMs ?? 15_000;
    this.#renewMs = o.renewMs ?? 5_000;
  }

  get leader(): boolean {
    return this.#leader;
  }

  get identity(): string {
    return this.#o.identity;
  }

  /** The Lease as this replica last saw (or wrote) it. */
  get view(): LeaseView {
    return {
      lease: `${this.#o.namespace}/${this.#o.name}`,
      leader: this.#leader,
      holder: this.#holder,
      ...(this.#transitions !== undefined ? { transitions: this.#transitions } : {}),
    };
  }

  #saw(spec: Lease['spec'] | undefined): void {
    this.#holder = spec?.holderIdentity ?? '';
    if (typeof spec?.leaseTransitions === 'number') this.#transitions = spec.leaseTransitions;
  }

  start(): void {
    this.#tick();
  }

  #tick(): void {
    if (this.#stopped) return;
    this.#running = this.#attempt()
      .catch((err: unknown) => this.#failed(err instanceof Error ? err.message : String(err)))
      .finally(() => {
        if (this.#stopped) return;
        this.#timer = setTimeout(() => this.#tick(), this.#renewMs * (this.#leader ? 1 : 0.9 + Math.random() * 0.2));
        this.#timer.unref();
      });
  }

  #path(name?: string): string {
    const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.#o.namespace)}/leases`;
    return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
  }

  #set(leader: boolean): void {
    if (leader === this.#leader) return;
    this.#leader = leader;
    this.#o.log.info(
      { provider: 'kubernetescrd', lease: `${this.#o.namespace}/${this.#o.name}`, identity: this.#o.identity },
      leader ? 'became the leader: writes status and events' : 'no longer the leader',
    );
    this.#o.onChange(leader);
  }

  #failed(message: string): void {
    if (message !== this.#lastError) this.#o.log.warn({ provider: 'kubernetescrd', lease: this.#o.name }, `leader election: ${message}`);
    this.#lastError = message;
    // Step down before another replica may take over (it waits the whole duration).
    if (this.#leader && Date.now() - this.#lastRenew > (this.#durationMs * 2) / 3) this.#set(false);
  }

  async #attempt(): Promise<void> {
    const { rest, identity } = this.#o;
    const now = new Date();
    const got = await rest('GET', this.#path(this.#o.name));
    const seconds = Math.max(1, Math.ceil(this.#durationMs / 1000));
    if (got.status === 404) {
      const created = await rest('POST', this.#path(), {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.#o.name, namespace: this.#o.namespace },
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds: seconds,
          acquireTime: microTime(now),
          renewTime: microTime(now),
          leaseTransitions: 0,
        },
      });
      if (created.status === 201 || created.status === 200) {
        this.#saw((created.body as Lease | null)?.spec);
        return this.#won();
      }
      if (created.status === 409) return this.#set(false); // another replica created it first
      throw new Error(`cannot create Lease ${this.#o.namespace}/${this.#o.name}: ${statusMessage(created)}`);
    }
    if (got.status !== 200 || got.body === null)
      throw new Error(`cannot read Lease ${this.#o.namespace}/${this.#o.name}: ${statusMessage(got)}`);
    const lease = got.body as Lease;
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    this.#saw(spec);
    if (holder !== identity) {
      if (this.#leader) this.#set(false);
      // Expired when the same record has been seen unchanged for its whole duration (our clock).
      const key = `${holder}|${spec.renewTime ?? ''}|${lease.metadata?.resourceVersion ?? ''}`;
      if (this.#observed?.key !== key) this.#observed = { key, at: Date.now() };
      const duration = (spec.leaseDurationSeconds ?? seconds) * 1000;
      if (holder !== '' && Date.now() - this.#observed.at < duration) return;
    }
    const next: Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: seconds,
        renewTime: microTime(now),
        ...(holder !== identity ? { acquireTime: microTime(now), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {}),
      },
    };
    const put = await rest('PUT', this.#path(this.#o.name), next);
    if (put.status === 200) {
      this.#saw((put.body as Lease | null)?.spec ?? next.spec);
      return this.#won();
    }
    if (put.status === 409) {
      // Someone wrote in between: read again at the next tick.
      this.#failed(
        `Lease ${this.#o.namespace}/${this.#o.name} changed while ${holder === identity ? 'renewing' : 'taking over'} (409 Conflict)`,
      );
      return;
    }
    throw new Error(`cannot update Lease ${this.#o.namespace}/${this.#o.name}: ${statusMessage(put)}`);
  }

  #won(): void {
    this.#lastRenew = Date.now();
    this.#lastError = '';
    this.#observed = null;
    this.#set(true);
  }

  /**
   * Stop competing. A leader hands the Lease back first (holderIdentity "",
   * as client-go's ReleaseOnCancel), so another replica takes over at its next
   * try instead of after leaseDurationSeconds; the writers stop before (the
   * provider stops them first), so there are never two writers. If the
   * release fails, the Lease expires as it would after a crash.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    await this.#running;
    const wasLeader = this.#leader;
    this.#leader = false;
    if (wasLeader && this.#o.releaseOnStop !== false) await this.#release().catch((err: unknown) => this.#failed(String(err)));
  }

  async #release(): Promise<void> {
    const got = await this.#o.rest('GET', this.#path(this.#o.name));
    if (got.status !== 200 || got.body === null) return;
    const lease = got.body as Lease;
    if (lease.spec?.holderIdentity !== this.#o.identity) return;
    const now = microTime();
    const put = await this.#o.rest('PUT', this.#path(this.#o.name), {
      ...lease,
      spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now },
    });
    if (put.status === 200) this.#saw((put.body as Lease | null)?.spec);
    if (put.status === 200)
      this.#o.log.info({ provider: 'kubernetescrd', lease: `${this.#o.namespace}/${this.#o.name}` }, 'released the Lease on stop');
  }
}
