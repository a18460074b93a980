/**
 * dns-01 (RFC 8555 section 8.4): the TXT record `_acme-challenge.<domain>`
 * written through a DNS provider (src/dns/types.ts: PowerDNS, RFC 2136), and
 * the check that it is visible before the CA is asked to look.
 */
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import * as packet from 'dns-packet';
import { zoneOf, type DnsProvider, type RecordSet } from '../../dns/types.js';

/** What the engine asks of a dns-01 solver. `fqdn` is `_acme-challenge.<domain>`, no trailing dot. */
export interface Dns01Solver {
  present(fqdn: string, value: string): Promise<void>;
  cleanup(fqdn: string, value: string): Promise<void>;
}

/** The TXT name for `domain` (a wildcard's `*.` removed: RFC 8555 section 8.4). */
export function dns01Name(domain: string): string {
  return `_acme-challenge.${domain.replace(/^\*\./, '').replace(/\.$/, '').toLowerCase()}`;
}

const TXT_TTL = 60;

/** Errors worth a second try: the server was busy or the answer was lost (present and cleanup are idempotent). */
const TRANSIENT = /^(HTTP_5\d\d|UNREACHABLE|TIMEOUT|CLOSED|SERVFAIL|YXRRSET|NXRRSET)$/;

export interface Dns01SolverOptions {
  /** The waits before the second, third, … attempt of a write that failed transiently (default 250 ms, 1 s). */
  readonly retryDelaysMs?: readonly number[];
}

/**
 * A solver over a DNS provider. It adds our value to the TXT record set and
 * keeps the values already there (another order, or another tool, may be
 * validating the same name); cleanup removes only our value. A provider that
 * cannot read (`capabilities.read` false) is sent a create (add) and a delete
 * of exactly our record.
 *
 * Writes go one at a time: present and cleanup read the set and write it
 * back, so two orders running at once (a wildcard and its apex share one TXT
 * name) would otherwise lose each other's values, and PowerDNS with its
 * SQLite backend answers a PATCH that meets another with HTTP 500. A write
 * that fails transiently (5xx, unreachable, timeout, SERVFAIL, a prerequisite
 * another writer broke) is tried again from the read, after a short wait.
 */
export function dns01SolverFor(provider: DnsProvider, opts: Dns01SolverOptions = {}): Dns01Solver {
  const delays = opts.retryDelaysMs ?? [250, 1000];
  const zoneFor = async (fqdn: string): Promise<string> => {
    const zones = await provider.zones();
    const zone = zoneOf(fqdn, zones);
    if (zone === undefined)
      throw new Error(`dns-01: no zone of the ${provider.kind} provider holds ${fqdn} (zones: ${zones.join(', ') || 'none'})`);
    return zone;
  };
  const current = async (zone: string, fqdn: string): Promise<RecordSet | undefined> =>
    (await provider.records(zone)).find((r) => r.type === 'TXT' && r.name.toLowerCase() === fqdn);
  const none = { create: [], update: [], delete: [] } as const;
  let tail: Promise<unknown> = Promise.resolve();
  /** Runs `fn` after every write queued before it, again on a transient error. */
  const serial = (fn: () => Promise<void>): Promise<void> => {
    const run = async (): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await fn();
        } catch (err) {
          const reason = (err as { reason?: unknown }).reason;
          if (attempt >= delays.length || typeof reason !== 'string' || !TRANSIENT.test(reason)) throw err;
          await new Promise((r) => setTimeout(r, delays[attempt]));
        }
      }
    };
    const p = tail.then(run, run);
    tail = p.catch(() => undefined);
    return p;
  };
  return {
    present: (fqdn, value) =>
      serial(async () => {
        const name = fqdn.toLowerCase();
        const zone = await zoneFor(name);
        if (!provider.capabilities.read) {
          await provider.apply(zone, { ...none, create: [{ name, type: 'TXT', ttl: TXT_TTL, values: [value] }] });
          return;
        }
        const set = await current(zone, name);
        if (set === undefined) await provider.apply(zone, { ...none, create: [{ name, type: 'TXT', ttl: TXT_TTL, values: [value] }] });
        else if (!set.values.includes(value)) await provider.apply(zone, { ...none, update: [{ ...set, values: [...set.values, value] }] });
      }),
    cleanup: (fqdn, value) =>
      serial(async () => {
        const name = fqdn.toLowerCase();
        const zone = await zoneFor(name);
        if (!provider.capabilities.read) {
          await provider.apply(zone, { ...none, delete: [{ name, type: 'TXT', ttl: TXT_TTL, values: [value] }] });
          return;
        }
        const set = await current(zone, name);
        if (set === undefined || !set.values.includes(value)) return;
        const rest = set.values.filter((v) => v !== value);
        await provider.apply(zone, rest.length === 0 ? { ...none, delete: [set] } : { ...none, update: [{ ...set, values: rest }] });
      }),
  };
}

export interface PropagationOptions {
  /** `host:port` or `host` of the resolvers to ask; empty: the authoritative servers of the name's zone. */
  readonly resolvers: readonly string[];
  /** Wait this long before the first check (`delaybeforecheck`). */
  readonly delayBeforeCheck: number;
  /** Give up after this long (default 120 s). */
  readonly timeoutMs?: number;
  /** Between checks (default 2 s). */
  readonly intervalMs?: number;
  /** One query's timeout (default 2 s). */
  readonly queryTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Resolves when every server asked answers `fqdn` TXT with `value`; throws after
 * `timeoutMs` naming the servers that did not.
 */
export async function waitForTxt(fqdn: string, value: string, opts: PropagationOptions): Promise<void> {
  if (opts.delayBeforeCheck > 0) await sleep(opts.delayBeforeCheck, opts.signal);
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  const servers =
    opts.resolvers.length > 0 ? opts.resolvers.map(parseServer) : await authoritativeServers(fqdn, opts.queryTimeoutMs ?? 2000);
  if (servers.length === 0) throw new Error(`dns-01: no authoritative server found for ${fqdn}`);
  let missing = servers;
  let lastError = '';
  for (;;) {
    const still: typeof servers = [];
    for (const s of missing) {
      try {
        const values = await queryTxt(s, fqdn, opts.queryTimeoutMs ?? 2000);
        if (!values.includes(value)) still.push(s);
      } catch (e) {
        lastError = (e as Error).message;
        still.push(s);
      }
    }
    missing = still;
    if (missing.length === 0) return;
    if (Date.now() + (opts.intervalMs ?? 2000) > deadline)
      throw new Error(
        `dns-01: the TXT record ${fqdn} is not visible on ${missing.map((s) => `${s.host}:${s.port}`).join(', ')} after ${Math.round((opts.timeoutMs ?? 120_000) / 1000)} s${lastError !== '' ? ` (${lastError})` : ''}`,
      );
    await sleep(opts.intervalMs ?? 2000, opts.signal);
  }
}

interface Server {
  readonly host: string;
  readonly port: number;
}

function parseServer(s: string): Server {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (m !== null) return { host: m[1] as string, port: m[2] !== undefined ? Number(m[2]) : 53 };
  if (isIP(s) === 6) return { host: s, port: 53 };
  const i = s.lastIndexOf(':');
  return i === -1 ? { host: s, port: 53 } : { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
}

/** The NS of the closest enclosing zone of `fqdn`, as addresses (system resolver). */
async function authoritativeServers(fqdn: string, timeoutMs: number): Promise<Server[]> {
  const r = new Resolver({ timeout: timeoutMs, tries: 2 });
  const labels = fqdn.split('.');
  for (let i = 0; i < labels.length - 1; i++) {
    const zone = labels.slice(i).join('.');
    let ns: string[];
    try {
      ns = await r.resolveNs(zone);
    } catch {
      continue;
    }
    const out: Server[] = [];
    for (const host of ns) {
      try {
        for (const a of await r.resolve4(host)) out.push({ host: a, port: 53 });
      } catch {
        // an NS without an IPv4 address is skipped
      }
    }
    if (out.length > 0) return out;
  }
  return [];
}

/** One TXT query over UDP; the texts of the answer's TXT records for `fqdn`. */
export function queryTxt(server: { host: string; port: number }, fqdn: string, timeoutMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const id = randomInt(0, 65536);
    const sock = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
    const done = (err: Error | null, v?: string[]): void => {
      clearTimeout(timer);
      sock.close();
      if (err !== null) reject(err);
      else resolve(v ?? []);
    };
    const timer = setTimeout(
      () => done(new Error(`DNS query ${fqdn} TXT to ${server.host}:${server.port} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    sock.on('error', (e) => done(new Error(`DNS query ${fqdn} TXT to ${server.host}:${server.port}: ${e.message}`)));
    sock.on('message', (msg) => {
      let res: packet.DecodedPacket;
      try {
        res = packet.decode(msg);
      } catch {
        return; // not a DNS answer: keep waiting
      }
      if (res.id !== id) return;
      const texts: string[] = [];
      for (const a of res.answers ?? []) {
        if (a.type !== 'TXT' || a.name.toLowerCase() !== fqdn.toLowerCase()) continue;
        const data = a.data as Buffer | Buffer[] | string | string[];
        const parts = Array.isArray(data) ? data : [data];
        texts.push(parts.map((p) => (typeof p === 'string' ? p : p.toString('utf8'))).join(''));
      }
      done(null, texts);
    });
    const q = packet.encode({ type: 'query', id, flags: packet.RECURSION_DESIRED, questions: [{ type: 'TXT', name: fqdn }] });
    sock.send(q, server.port, server.host);
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) return reject(new Error('aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
