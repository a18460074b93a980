/**
 * The ACME engine: for every (resolver, domains) the routers ask for, a
 * certificate obtained before traffic needs it, renewed in time, shared
 * between replicas. Orders run in the background: nothing here blocks
 * serving. Runs in one process per gateway (the primary); with shared
 * (Redis) storage, in every replica, one of which orders each name.
 *
 * Life of one certificate (an entry):
 *   Pending ──order──▶ Issuing ──▶ Ready ──(renewal time)──▶ Issuing ──▶ Ready
 *                         └──▶ Failed (the CA's error; back-off; the old certificate keeps serving)
 * A replica that finds the order lock taken stays Pending and loads the
 * certificate when the holder publishes it.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Agent } from 'node:https';
import { silentLogger, type Logger } from '../../log.js';
import { readyAccount, type ReadyAccount } from './account.js';
import { caAgent, callError, withCa, type CaCallContext } from './ca-http.js';
import type { AcmeResolverConfig } from './config.js';
import { orderCertificate } from './order.js';
import { RenewalInfoClient } from './renewal-info.js';
import {
  DEFAULT_TUNING,
  type AcmeCertificate,
  type AcmeCertificateState,
  type AcmeCertificateStatus,
  type AcmeEngineOptions,
  type AcmeOrderEvent,
  type AcmeOrderResult,
  type AcmeTuning,
} from './types.js';

export type {
  AcmeCertificate,
  AcmeCertificateState,
  AcmeCertificateStatus,
  AcmeEngineOptions,
  AcmeOrderEvent,
  AcmeOrderResult,
  AcmeTuning,
};
import { ariCertId, backoffDelay, classifyFailure, renewalTime, timeInWindow, type RenewalWindow } from './renewal.js';
import { FileAcmeStorage, domainsKey, normalizeDomains, type AcmeDomains, type AcmeStorage, type StoredCertificate } from './storage.js';

interface Held {
  readonly certPem: string;
  readonly keyPem: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly serial: string;
  readonly fingerprint: string;
}

interface Entry {
  readonly resolver: string;
  readonly key: string;
  readonly domains: AcmeDomains;
  wanted: boolean;
  /** Refused by setWanted (a wildcard without dns-01): never ordered. */
  refused?: string;
  cert?: Held;
  state: AcmeCertificateState;
  error?: string;
  failures: number;
  lastAttempt?: number;
  nextAttempt?: number;
  nextRenewal?: number;
  ari?: { window: RenewalWindow; at: number; checkAfter: number };
  /** Another replica held the order lock: not before this time. */
  lockWaitUntil?: number;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
}

interface Resolver {
  readonly config: AcmeResolverConfig;
  readonly storage: AcmeStorage;
  readonly agent: Agent;
  readonly renewalInfo: RenewalInfoClient;
  account?: Promise<ReadyAccount>;
}

/** A certificate's times and identity; throws when the PEM is not a certificate. */
function describe(certPem: string, keyPem: string): Held {
  const x = new X509Certificate(certPem);
  return {
    certPem,
    keyPem,
    notBefore: Date.parse(x.validFrom),
    notAfter: Date.parse(x.validTo),
    serial: x.serialNumber,
    fingerprint: x.fingerprint256.replace(/:/g, '').toLowerCase(),
  };
}

const iso = (t: number | undefined): string | undefined => (t === undefined ? undefined : new Date(t).toISOString());

export class AcmeEngine {
  private readonly resolvers = new Map<string, Resolver>();
  private readonly entries = new Map<string, Entry>();
  private readonly counts = new Map<string, number>();
  private readonly certListeners = new Set<(c: AcmeCertificate) => void>();
  private readonly orderListeners = new Set<(e: AcmeOrderEvent) => void>();
  private readonly unsubscribe: (() => void)[] = [];
  private readonly abort = new AbortController();
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly tuning: AcmeTuning;
  private started = false;

  constructor(private readonly opts: AcmeEngineOptions) {
    this.log = (opts.log ?? silentLogger).child({ component: 'acme' });
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.tuning = { ...DEFAULT_TUNING, ...opts.tuning };
    const files = new Map<string, FileAcmeStorage>();
    for (const config of opts.resolvers) {
      if (this.resolvers.has(config.name)) throw new Error(`ACME resolver ${config.name} is configured twice`);
      if (config.dnsChallenge !== undefined && opts.dns01?.[config.name] === undefined)
        throw new Error(
          `certificatesresolvers.${config.name}.acme.dnschallenge: no dns-01 solver for provider ${config.dnsChallenge.provider}`,
        );
      const ca = config.caCertificates.map((f) => {
        try {
          return readFileSync(f, 'utf8');
        } catch (e) {
          throw new Error(
            `certificatesresolvers.${config.name}.acme.cacertificates: cannot read ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
          );
        }
      });
      let storage = opts.storage;
      if (storage === undefined) {
        storage = files.get(config.storage) ?? new FileAcmeStorage(config.storage);
        files.set(config.storage, storage as FileAcmeStorage);
      }
      const agent = caAgent(ca);
      const renewalInfo = new RenewalInfoClient(
        config.caServer,
        agent,
        this.tuning.requestTimeoutMs,
        this.tuning.checkIntervalMs,
        this.now,
      );
      this.resolvers.set(config.name, { config, storage, agent, renewalInfo });
    }
  }

  /** Loads the stored certificates (served at once) and listens for other replicas' writes. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const storages = new Set<AcmeStorage>();
    for (const r of this.resolvers.values()) {
      await this.reload(r.config.name);
      storages.add(r.storage);
    }
    for (const s of storages)
      this.unsubscribe.push(
        s.onChange((resolver) => {
          if (this.resolvers.get(resolver)?.storage === s)
            this.reload(resolver).catch((e: unknown) =>
              this.log.warn({ resolver, err: (e as Error).message }, 'ACME: cannot load certificates saved by another replica'),
            );
        }),
      );
  }

  /**
   * The certificates a resolver must hold (from the routers' hosts and `tls.domains`).
   * Replaces the previous list of that resolver. Returns what was refused, with why.
   */
  setWanted(resolver: string, list: readonly AcmeDomains[]): { errors: string[] } {
    const r = this.resolvers.get(resolver);
    if (r === undefined)
      return {
        errors: [`certificate resolver "${resolver}" is not configured (defined: ${[...this.resolvers.keys()].join(', ') || 'none'})`],
      };
    const errors: string[] = [];
    const keep = new Set<string>();
    for (const raw of list) {
      const domains = normalizeDomains(raw);
      if (domains.main === '') continue;
      const key = `${resolver}\u0000${domainsKey(domains)}`;
      if (keep.has(key)) continue;
      keep.add(key);
      const entry = this.entries.get(key) ?? this.newEntry(resolver, domains, key);
      entry.wanted = true;
      const names = [domains.main, ...domains.sans];
      const bad = names.find((n) => !/^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9-]{1,63}$/.test(n) || n.length > 253);
      const wildcard = names.find((n) => n.startsWith('*.'));
      entry.refused =
        bad !== undefined
          ? `"${bad}" is not a DNS name a CA can issue for`
          : wildcard !== undefined && r.config.dnsChallenge === undefined
            ? `the wildcard "${wildcard}" needs the dns-01 challenge: set certificatesresolvers.${resolver}.acme.dnschallenge.provider`
            : undefined;
      if (entry.refused !== undefined) {
        entry.state = 'Failed';
        entry.error = entry.refused;
        errors.push(`certificate resolver ${resolver}, domains ${names.join(', ')}: ${entry.refused}`);
      }
      this.schedule(entry);
    }
    for (const e of this.entries.values())
      if (e.resolver === resolver && !keep.has(this.keyOf(e))) {
        e.wanted = false;
        clearTimeout(e.timer);
        if (e.cert === undefined) this.entries.delete(this.keyOf(e));
      }
    return { errors };
  }

  /** Every certificate held (to serve), newest per domains. */
  certificates(): AcmeCertificate[] {
    const out: AcmeCertificate[] = [];
    for (const e of this.entries.values())
      if (e.cert !== undefined)
        out.push({
          resolver: e.resolver,
          domains: e.domains,
          certPem: e.cert.certPem,
          keyPem: e.cert.keyPem,
          notAfter: new Date(e.cert.notAfter).toISOString(),
        });
    return out;
  }

  /** Called with every new certificate (ordered here or by another replica); returns the remover. */
  onCertificate(listener: (c: AcmeCertificate) => void): () => void {
    this.certListeners.add(listener);
    return () => this.certListeners.delete(listener);
  }

  /** Called after every order attempt (for `gatehouse_acme_orders_total{resolver,result}`). */
  onOrder(listener: (e: AcmeOrderEvent) => void): () => void {
    this.orderListeners.add(listener);
    return () => this.orderListeners.delete(listener);
  }

  /** `gatehouse_acme_orders_total` as rows. */
  orderCounts(): { resolver: string; result: AcmeOrderResult; count: number }[] {
    return [...this.counts].map(([k, count]) => {
      const [resolver, result] = k.split('\u0000') as [string, AcmeOrderResult];
      return { resolver, result, count };
    });
  }

  status(): AcmeCertificateStatus[] {
    return [...this.entries.values()].map((e) => ({
      resolver: e.resolver,
      domains: e.domains,
      state: e.state,
      wanted: e.wanted,
      serving: e.cert !== undefined && e.cert.notAfter > this.now(),
      ...(e.error !== undefined ? { error: e.error } : {}),
      ...(e.cert !== undefined
        ? { notBefore: iso(e.cert.notBefore), notAfter: iso(e.cert.notAfter), serial: e.cert.serial, fingerprint: e.cert.fingerprint }
        : {}),
      ...(e.nextRenewal !== undefined && e.wanted ? { nextRenewal: iso(e.nextRenewal) } : {}),
      ...(e.nextAttempt !== undefined && e.failures > 0 ? { nextAttempt: iso(e.nextAttempt) } : {}),
      ...(e.lastAttempt !== undefined ? { lastAttempt: iso(e.lastAttempt) } : {}),
      failures: e.failures,
      renewalInfo: e.ari !== undefined,
    }));
  }

  /** Stops timers and orders (an order in flight is abandoned at its next step), releases locks, closes storage. */
  async close(): Promise<void> {
    this.abort.abort();
    for (const e of this.entries.values()) clearTimeout(e.timer);
    for (const u of this.unsubscribe) u();
    const running = [...this.entries.values()].map((e) => e.running).filter((p) => p !== undefined);
    await Promise.race([Promise.allSettled(running), new Promise((r) => setTimeout(r, 5000).unref())]);
    const storages = new Set([...this.resolvers.values()].map((r) => r.storage));
    for (const s of storages) await s.close().catch(() => undefined);
    for (const r of this.resolvers.values()) r.agent.destroy();
  }

  // --- scheduling ----------------------------------------------------------

  private keyOf(e: Entry): string {
    return `${e.resolver}\u0000${domainsKey(e.domains)}`;
  }

  private newEntry(resolver: string, domains: AcmeDomains, key: string): Entry {
    const e: Entry = { resolver, key, domains, wanted: false, state: 'Pending', failures: 0 };
    this.entries.set(key, e);
    return e;
  }

  private due(e: Entry): number {
    let due: number;
    if (e.failures > 0 && e.nextAttempt !== undefined) due = e.nextAttempt;
    else if (e.cert === undefined) due = this.now();
    else due = e.nextRenewal ?? this.now();
    // Another replica holds the order lock: look again later, not in a loop.
    return e.lockWaitUntil !== undefined ? Math.max(due, e.lockWaitUntil) : due;
  }

  private schedule(e: Entry): void {
    clearTimeout(e.timer);
    e.timer = undefined;
    if (!e.wanted || e.refused !== undefined || this.abort.signal.aborted || e.running !== undefined) return;
    const delay = Math.min(Math.max(0, this.due(e) - this.now()), this.tuning.checkIntervalMs);
    e.timer = setTimeout(() => this.tick(e), delay);
    e.timer.unref();
  }

  private tick(e: Entry): void {
    e.timer = undefined;
    if (!e.wanted || this.abort.signal.aborted || e.running !== undefined) return;
    if (this.due(e) > this.now()) {
      // A daily look: the CA's renewal window may have moved.
      void this.refreshRenewal(e).finally(() => this.schedule(e));
      return;
    }
    e.running = this.attempt(e)
      .catch((err: unknown) => this.failed(e, (err as Error).message, undefined, undefined))
      .finally(() => {
        e.running = undefined;
        this.schedule(e);
      });
  }

  /** Takes the lock, orders unless another replica already did, records the outcome. */
  private async attempt(e: Entry): Promise<void> {
    const r = this.resolvers.get(e.resolver) as Resolver;
    const lock = await r.storage.lock(`${e.resolver}:${domainsKey(e.domains)}`, this.tuning.lockTtlMs);
    if (lock === undefined) {
      if (e.cert === undefined) {
        e.state = 'Pending';
        e.error = 'another replica is ordering this certificate';
      }
      e.lockWaitUntil = this.now() + this.tuning.lockRetryMs;
      return;
    }
    e.lockWaitUntil = undefined;
    try {
      await this.reload(e.resolver);
      if (e.cert !== undefined && this.due(e) > this.now() && e.failures === 0) return; // another replica renewed it meanwhile
      e.state = 'Issuing';
      e.error = undefined;
      e.lastAttempt = this.now();
      const ctx: CaCallContext = { agent: r.agent, timeoutMs: this.tuning.requestTimeoutMs };
      let stored: StoredCertificate;
      let timer: NodeJS.Timeout | undefined;
      try {
        stored = await Promise.race([
          withCa(ctx, () => this.order(r, e)),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`the order did not complete within ${this.tuning.orderTimeoutMs / 1000} s`)),
              this.tuning.orderTimeoutMs,
            );
          }),
        ]);
      } catch (err) {
        if (this.abort.signal.aborted) return;
        const f = classifyFailure(ctx.lastProblem, this.now());
        if (f.resetAccount) r.account = undefined;
        this.failed(e, callError(err, ctx), f.result, f.retryAfterMs);
        return;
      } finally {
        clearTimeout(timer);
      }
      if (this.abort.signal.aborted) return;
      // Stored first, so a certificate this engine serves is one the other replicas (and a restart) find.
      let unsaved: string | undefined;
      try {
        await r.storage.saveCertificate(e.resolver, stored);
      } catch (err) {
        unsaved = (err as Error).message;
      }
      e.failures = 0;
      e.nextAttempt = undefined;
      this.count(e, 'success');
      this.adopt(e, stored);
      this.log.info({ resolver: e.resolver, domain: e.domains.main, notAfter: iso(e.cert?.notAfter) }, 'ACME certificate obtained');
      if (unsaved !== undefined) {
        // Served from memory; a restart (or another replica) orders again.
        e.error = `the certificate is served but could not be stored: ${unsaved}`;
        this.log.error({ resolver: e.resolver, domain: e.domains.main, err: unsaved }, 'ACME certificate not stored');
      }
    } finally {
      await lock.release();
    }
  }

  /** An attempt failed: back-off (and the CA's Retry-After), state and warning. `result` undefined: no order was made (storage down). */
  private failed(e: Entry, message: string, result: AcmeOrderResult | undefined, retryAfterMs: number | undefined): void {
    e.failures++;
    e.state = 'Failed';
    e.error = message;
    const wait = Math.max(backoffDelay(e.failures, this.tuning.backoffBaseMs, this.tuning.backoffCapMs), retryAfterMs ?? 0);
    e.nextAttempt = this.now() + wait;
    if (result !== undefined) this.count(e, result);
    this.log.warn(
      {
        resolver: e.resolver,
        domain: e.domains.main,
        failures: e.failures,
        nextAttempt: iso(e.nextAttempt),
        serving: e.cert !== undefined,
        err: message,
      },
      e.cert !== undefined ? 'ACME renewal failed: the current certificate keeps serving' : 'ACME order failed',
    );
  }

  private count(e: Entry, result: AcmeOrderResult): void {
    const k = `${e.resolver}\u0000${result}`;
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    for (const l of this.orderListeners) l({ resolver: e.resolver, domains: e.domains, result });
  }

  /** Takes a certificate (ordered here, or found in storage) when it is newer than the one held. */
  private adopt(e: Entry, stored: StoredCertificate): boolean {
    let held: Held;
    try {
      held = describe(stored.certPem, stored.keyPem);
    } catch {
      this.log.warn({ resolver: e.resolver, domain: e.domains.main }, 'ACME storage holds a certificate that does not parse: ignored');
      return false;
    }
    if (e.cert !== undefined && (e.cert.fingerprint === held.fingerprint || held.notAfter <= e.cert.notAfter)) return false;
    e.cert = held;
    e.ari = undefined;
    e.nextRenewal = renewalTime(held, (this.resolvers.get(e.resolver) as Resolver).config.certificatesDuration);
    if (e.state !== 'Issuing' || e.failures === 0) e.state = 'Ready';
    if (e.failures === 0) e.error = undefined;
    const c: AcmeCertificate = {
      resolver: e.resolver,
      domains: e.domains,
      certPem: held.certPem,
      keyPem: held.keyPem,
      notAfter: new Date(held.notAfter).toISOString(),
    };
    for (const l of this.certListeners) l(c);
    void this.refreshRenewal(e).finally(() => this.schedule(e));
    return true;
  }

  /** Loads the resolver's stored certificates; a newer one than held is adopted (another replica's order). */
  private async reload(resolver: string): Promise<void> {
    const r = this.resolvers.get(resolver);
    if (r === undefined) return;
    const { certificates } = await r.storage.load(resolver);
    for (const c of certificates) {
      const key = `${resolver}\u0000${domainsKey(c.domains)}`;
      const e = this.entries.get(key) ?? this.newEntry(resolver, normalizeDomains(c.domains), key);
      if (this.adopt(e, c) && e.state !== 'Issuing') {
        e.failures = 0;
        e.nextAttempt = undefined;
        e.error = undefined;
        e.state = 'Ready';
      }
    }
  }

  // --- ACME Renewal Information (RFC 9773) ----------------------------------

  /** Asks the CA for the renewal window when it offers ARI; the window's chosen time becomes the renewal time. */
  private async refreshRenewal(e: Entry): Promise<void> {
    const r = this.resolvers.get(e.resolver);
    if (r === undefined || e.cert === undefined || !e.wanted) return;
    if (e.ari !== undefined && e.ari.checkAfter > this.now()) return;
    try {
      const answer = await r.renewalInfo.window(e.cert.certPem);
      if (answer === undefined) return;
      const { start, end } = answer.window;
      const retry = Math.min(answer.retryAfterMs ?? 6 * 3_600_000, this.tuning.checkIntervalMs);
      const same = e.ari !== undefined && e.ari.window.start === start && e.ari.window.end === end;
      const at = same && e.ari !== undefined ? e.ari.at : timeInWindow({ start, end }, this.now(), this.random);
      e.ari = { window: { start, end }, at, checkAfter: this.now() + Math.max(60_000, retry) };
      e.nextRenewal = at;
    } catch (err) {
      this.log.debug(
        { resolver: e.resolver, domain: e.domains.main, err: (err as Error).message },
        'ACME renewal information unavailable: lifetime rule used',
      );
    }
  }

  // --- orders ----------------------------------------------------------------

  private account(r: Resolver): Promise<ReadyAccount> {
    if (r.account === undefined) {
      const p = readyAccount({
        config: r.config,
        storage: r.storage,
        lockWaitMs: Math.max(30_000, this.tuning.lockRetryMs),
        backoff: { attempts: this.tuning.pollAttempts, min: this.tuning.pollMinMs, max: this.tuning.pollMaxMs },
      });
      r.account = p;
      p.catch(() => {
        if (r.account === p) r.account = undefined;
      });
    }
    return r.account;
  }

  private async order(r: Resolver, e: Entry): Promise<StoredCertificate> {
    const { client } = await this.account(r);
    if (this.abort.signal.aborted) throw new Error('the ACME engine is closing');
    const replaces = e.cert !== undefined && e.ari !== undefined ? ariCertId(e.cert.certPem) : undefined;
    return orderCertificate({
      client,
      config: r.config,
      domains: e.domains,
      challenges: this.opts.challenges,
      dns01: this.opts.dns01?.[r.config.name],
      ...(replaces !== undefined ? { replaces } : {}),
      propagation: { timeoutMs: this.tuning.propagationTimeoutMs, intervalMs: this.tuning.propagationIntervalMs },
      signal: this.abort.signal,
      log: this.log,
    });
  }
}
