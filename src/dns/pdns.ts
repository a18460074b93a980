/**
 * The PowerDNS Authoritative provider: the HTTP API v1 (`/api/v1/servers/<id>/zones`).
 * One PATCH per zone per apply, so a zone's changes land together or not at all.
 * The API key travels in `X-API-Key` and appears in no message. See docs/dns.md.
 */
import { Agent, errors as undiciErrors } from 'undici';
import { DnsError, type DnsProvider, type RecordChanges, type RecordSet, type RecordType } from './types.js';

export interface PdnsOptions {
  /** Base URL of the API server, e.g. `http://127.0.0.1:8081` (`--dns.pdns.server`). */
  readonly server: string;
  /** `--dns.pdns.serverid`; default `localhost`. */
  readonly serverId?: string;
  /** The API key (read by the caller from `--dns.pdns.apikeyfile`). */
  readonly apiKey: string;
  /** Zones to manage (no trailing dot); default: every zone the server lists. */
  readonly zones?: readonly string[];
  /** Per request, connect to last byte; default 10 s. */
  readonly timeoutMs?: number;
  /** Largest response body read; default 32 MiB (a zone listing with its records). */
  readonly maxResponseBytes?: number;
}

const MANAGED: ReadonlySet<string> = new Set<RecordType>(['A', 'AAAA', 'CNAME', 'ALIAS', 'TXT']);

interface PdnsRecord {
  content: string;
  disabled?: boolean;
}
interface PdnsRrset {
  name: string;
  type: string;
  ttl?: number;
  records?: PdnsRecord[];
}
interface PdnsZone {
  id?: string;
  name: string;
  rrsets?: PdnsRrset[];
}

export function createPdnsProvider(opts: PdnsOptions): DnsProvider {
  let base: URL;
  try {
    base = new URL(opts.server);
  } catch {
    throw new DnsError(`PowerDNS server "${opts.server}" is not a URL (expected e.g. http://127.0.0.1:8081)`, 'CONFIG');
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw new DnsError(`PowerDNS server ${opts.server}: only http:// and https:// are supported`, 'CONFIG');
  if (opts.apiKey === '') throw new DnsError(`PowerDNS server ${base.origin}: the API key is empty`, 'CONFIG');
  if (/[\r\n]/.test(opts.apiKey)) throw new DnsError(`PowerDNS server ${base.origin}: the API key contains a line break`, 'CONFIG');
  const where = `PowerDNS ${base.origin}`;
  const serverId = opts.serverId ?? 'localhost';
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const maxBytes = opts.maxResponseBytes ?? 32 * 1024 * 1024;
  const prefix = `${base.pathname.replace(/\/+$/, '')}/api/v1/servers/${encodeURIComponent(serverId)}`;
  const agent = new Agent({ connect: { timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connections: 4 });
  const configured = opts.zones?.map(normalizeZone);
  /** Zone name → the id the API uses in URLs (from the listing; `<name>.` otherwise). */
  const ids = new Map<string, string>();

  async function call(method: 'GET' | 'PATCH', path: string, what: string, body?: unknown): Promise<unknown> {
    const url = new URL(prefix + path, base);
    let res;
    try {
      res = await agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method,
        headers: {
          'x-api-key': opts.apiKey,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw transportError(err, where, what, timeoutMs);
    }
    let text: string;
    try {
      text = await readLimited(res.body, maxBytes);
    } catch (err) {
      if (err instanceof DnsError) throw new DnsError(`${where}: ${what}: ${err.message}`, err.reason);
      throw transportError(err, where, what, timeoutMs);
    }
    if (res.statusCode < 200 || res.statusCode > 299) {
      throw new DnsError(`${where}: ${what}: HTTP ${res.statusCode}${errorDetail(text)}`, `HTTP_${res.statusCode}`);
    }
    if (text === '') return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new DnsError(`${where}: ${what}: the answer is not JSON (HTTP ${res.statusCode})`, 'BAD_RESPONSE');
    }
  }

  function zoneId(zone: string): string {
    return ids.get(zone) ?? `${zone}.`;
  }

  return {
    kind: 'pdns',
    capabilities: { alias: true, read: true },

    async zones() {
      if (configured !== undefined) return [...configured];
      const list = await call('GET', '/zones', 'listing zones');
      if (!Array.isArray(list)) throw new DnsError(`${where}: listing zones: the answer is not a list`, 'BAD_RESPONSE');
      const out: string[] = [];
      for (const z of list as PdnsZone[]) {
        if (typeof z?.name !== 'string') continue;
        const name = normalizeZone(z.name);
        if (typeof z.id === 'string') ids.set(name, z.id);
        out.push(name);
      }
      return out.sort();
    },

    async records(zone) {
      const name = normalizeZone(zone);
      const what = `reading zone ${name}`;
      const z = (await call('GET', `/zones/${encodeURIComponent(zoneId(name))}?rrsets=true`, what)) as PdnsZone | null;
      if (z === null || !Array.isArray(z.rrsets)) throw new DnsError(`${where}: ${what}: the answer has no rrsets`, 'BAD_RESPONSE');
      const out: RecordSet[] = [];
      for (const rr of z.rrsets) {
        if (typeof rr?.name !== 'string' || typeof rr.type !== 'string' || !MANAGED.has(rr.type)) continue;
        const type = rr.type as RecordType;
        const values = (rr.records ?? []).filter((r) => r.disabled !== true).map((r) => fromWire(type, r.content));
        if (values.length === 0) continue;
        out.push({ name: stripDot(rr.name), type, ttl: rr.ttl ?? 0, values });
      }
      return out;
    },

    async apply(zone, changes) {
      const name = normalizeZone(zone);
      const rrsets = toRrsets(name, changes);
      if (rrsets.length === 0) return;
      await call('PATCH', `/zones/${encodeURIComponent(zoneId(name))}`, `updating zone ${name} (${summary(changes)})`, { rrsets });
    },

    async close() {
      await agent.close();
    },
  };
}

/** The PATCH body's rrsets: deletions first (so a CNAME may replace an A in the same PATCH), then replacements. */
export function toRrsets(zone: string, changes: RecordChanges): object[] {
  const out: object[] = [];
  const seen = new Set<string>();
  const check = (rs: RecordSet): void => {
    const n = rs.name.toLowerCase();
    if (n !== zone && !n.endsWith(`.${zone}`)) throw new DnsError(`record ${rs.name} ${rs.type} is not in zone ${zone}`, 'NOTZONE');
    const key = `${n} ${rs.type}`;
    if (seen.has(key)) throw new DnsError(`record set ${rs.name} ${rs.type} appears twice in one change of zone ${zone}`, 'DUPLICATE');
    seen.add(key);
  };
  for (const rs of changes.delete) {
    check(rs);
    out.push({ name: `${rs.name.toLowerCase()}.`, type: rs.type, changetype: 'DELETE' });
  }
  for (const rs of [...changes.create, ...changes.update]) {
    check(rs);
    if (rs.values.length === 0) throw new DnsError(`record set ${rs.name} ${rs.type} has no values`, 'EMPTY');
    out.push({
      name: `${rs.name.toLowerCase()}.`,
      type: rs.type,
      ttl: rs.ttl,
      changetype: 'REPLACE',
      records: rs.values.map((v) => ({ content: toWire(rs.type, v), disabled: false })),
    });
  }
  return out;
}

/** Record data as the API writes it: host names with a trailing dot, TXT quoted. */
export function toWire(type: RecordType, value: string): string {
  if (type === 'CNAME' || type === 'ALIAS') return value.endsWith('.') ? value : `${value}.`;
  if (type === 'TXT') return quoteTxt(value);
  return value;
}

/** Record data as the seam carries it (types.ts): host names without the trailing dot, TXT unquoted and joined. */
export function fromWire(type: RecordType, content: string): string {
  if (type === 'CNAME' || type === 'ALIAS') return stripDot(content).toLowerCase();
  if (type === 'TXT') return unquoteTxt(content);
  return content;
}

/** A text as zone-file character-strings: 255-byte pieces, each quoted, `"` and `\` escaped, other non-printables as \DDD. */
export function quoteTxt(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  const parts: string[] = [];
  for (let i = 0; i < bytes.length || i === 0; i += 255) {
    let s = '"';
    for (const b of bytes.subarray(i, i + 255)) {
      if (b === 0x22 || b === 0x5c) s += `\\${String.fromCharCode(b)}`;
      else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
      else s += `\\${String(b).padStart(3, '0')}`;
    }
    parts.push(`${s}"`);
    if (bytes.length === 0) break;
  }
  return parts.join(' ');
}

/** The inverse of quoteTxt: character-strings (quoted or bare) joined, escapes resolved, UTF-8 decoded. */
export function unquoteTxt(content: string): string {
  const out: number[] = [];
  let i = 0;
  const n = content.length;
  while (i < n) {
    const c = content[i] as string;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    const quoted = c === '"';
    if (quoted) i++;
    while (i < n) {
      const d = content[i] as string;
      if (quoted ? d === '"' : d === ' ' || d === '\t') break;
      if (d === '\\' && i + 1 < n) {
        const digits = content.slice(i + 1, i + 4);
        if (/^[0-9]{3}$/.test(digits)) {
          out.push(Number(digits) & 0xff);
          i += 4;
        } else {
          out.push(...Buffer.from(content[i + 1] as string, 'utf8'));
          i += 2;
        }
        continue;
      }
      const cp = content.codePointAt(i) as number;
      const ch = String.fromCodePoint(cp);
      out.push(...Buffer.from(ch, 'utf8'));
      i += ch.length;
    }
    if (quoted) i++; // the closing quote
  }
  return Buffer.from(out).toString('utf8');
}

function normalizeZone(z: string): string {
  return stripDot(z.trim()).toLowerCase();
}

function stripDot(s: string): string {
  return s.endsWith('.') ? s.slice(0, -1) : s;
}

function summary(c: RecordChanges): string {
  return `${c.create.length} create, ${c.update.length} update, ${c.delete.length} delete`;
}

/** PowerDNS's `error` field, or a short plain-text body (401 answers "Unauthorized"). */
function errorDetail(text: string): string {
  let detail = '';
  try {
    const j = JSON.parse(text) as { error?: unknown };
    if (typeof j.error === 'string') detail = j.error;
  } catch {
    detail = /^[\x20-\x7e]{1,200}$/.test(text.trim()) ? text.trim() : '';
  }
  if (detail.length > 500) detail = `${detail.slice(0, 500)}…`;
  return detail === '' ? '' : `: ${detail}`;
}

async function readLimited(body: AsyncIterable<Buffer> & { destroy?: (err?: Error) => unknown }, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) {
      body.destroy?.();
      throw new DnsError(`the answer is larger than ${max} bytes`, 'TOO_LARGE');
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function transportError(err: unknown, where: string, what: string, timeoutMs: number): DnsError {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code;
  if (
    e.name === 'TimeoutError' ||
    e.name === 'AbortError' ||
    err instanceof undiciErrors.ConnectTimeoutError ||
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    code === 'ETIMEDOUT'
  ) {
    return new DnsError(`${where}: ${what}: no answer within ${timeoutMs} ms`, 'TIMEOUT');
  }
  const why = code ?? e.message ?? String(err);
  return new DnsError(`${where}: ${what}: cannot reach the server (${why})`, 'UNREACHABLE');
}
