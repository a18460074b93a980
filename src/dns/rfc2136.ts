/**
 * The RFC 2136 provider: dynamic updates (one UPDATE message per zone per apply)
 * and zone reads by AXFR, both over TCP and signed with TSIG (RFC 8945, ./tsig.ts).
 * Tested against BIND 9; other servers taking RFC 2136 updates with HMAC TSIG speak
 * the same protocol. The TSIG secret appears in no message. See docs/dns.md.
 */
import { randomInt } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import { buildUpdate, TYPE_CODES } from './rfc2136-message.js';
import { checkTsigKey, parseTsigAlgorithm, signMessage, TsigServerError, TsigVerifier, type TsigAlgorithm, type TsigKey } from './tsig.js';
import { DnsError, type DnsProvider, type RecordChanges, type RecordType } from './types.js';
import {
  CLASS_IN,
  encodeName,
  normalizeName,
  OPCODE_QUERY,
  OPCODE_UPDATE,
  RCODE_MEANING,
  rcodeName,
  readHeader,
  readName,
  HEADER_BYTES,
  tcpExchange,
  TYPE_AXFR,
  TYPE_SOA,
} from './wire.js';

export interface Rfc2136Options {
  /** The primary server's address (`--dns.rfc2136.host`). */
  readonly host: string;
  /** `--dns.rfc2136.port`; default 53. */
  readonly port?: number;
  /** The zones to manage (`--dns.rfc2136.zone`, comma list). */
  readonly zones: readonly string[];
  /** `--dns.rfc2136.tsigkeyname`; without it, requests are unsigned. */
  readonly tsigKeyName?: string;
  /** The decoded secret (the caller reads `--dns.rfc2136.tsigsecretfile` and decodes its base64). */
  readonly tsigSecret?: Buffer;
  /** `--dns.rfc2136.tsigalgorithm`; default `hmac-sha256`. */
  readonly tsigAlgorithm?: TsigAlgorithm;
  /** `--dns.rfc2136.axfr`: read zones by zone transfer (needs `allow-transfer` for the key). Default true. */
  readonly axfr?: boolean;
  /** Connect, idle and whole-UPDATE timeout; a zone transfer may take three times this long. Default 10 s. */
  readonly timeoutMs?: number;
  /** Largest zone transfer read, bytes; default 64 MiB. */
  readonly maxTransferBytes?: number;
}

const MANAGED = new Map<number, RecordType>([
  [1, 'A'],
  [28, 'AAAA'],
  [5, 'CNAME'],
  [16, 'TXT'],
]);
/**
 * Reads `--dns.rfc2136.tsigsecretfile`: the secret in base64, alone or as the
 * `secret "…";` line of a BIND key file (`tsig-keygen` output). Errors name the
 * file, never its content.
 */
export function readTsigSecretFile(file: string): Buffer {
  let text: string;
  try {
    if (statSync(file).size > 64 * 1024) throw new DnsError(`TSIG secret file ${file} is larger than 64 KiB`, 'CONFIG');
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof DnsError) throw err;
    throw new DnsError(`TSIG secret file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, 'CONFIG');
  }
  const secrets = [...text.matchAll(/\bsecret\s+"([^"]*)"/g)];
  if (secrets.length > 1)
    throw new DnsError(
      `TSIG secret file ${file} holds ${secrets.length} keys; keep only the one named by --dns.rfc2136.tsigkeyname`,
      'CONFIG',
    );
  const fromKeyFile = secrets[0];
  const b64 = (fromKeyFile?.[1] ?? text).replace(/\s+/g, '');
  if (b64 === '') throw new DnsError(`TSIG secret file ${file} is empty`, 'CONFIG');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 === 1)
    throw new DnsError(`TSIG secret file ${file} does not hold a base64 secret (nor a BIND key file with secret "…")`, 'CONFIG');
  return Buffer.from(b64, 'base64');
}

export function createRfc2136Provider(opts: Rfc2136Options): DnsProvider {
  const host = opts.host.trim();
  if (host === '') throw new DnsError('RFC 2136: the server host is empty (--dns.rfc2136.host)', 'CONFIG');
  const port = opts.port ?? 53;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new DnsError(`RFC 2136: port ${port} is not a TCP port`, 'CONFIG');
  const where = `RFC 2136 server ${host.includes(':') ? `[${host}]` : host}:${port}`;
  try {
    return buildProvider(opts, host, port, where);
  } catch (err) {
    if (err instanceof DnsError && !err.message.startsWith(where)) throw new DnsError(`${where}: ${err.message}`, err.reason);
    throw err;
  }
}

function buildProvider(opts: Rfc2136Options, host: string, port: number, where: string): DnsProvider {
  const zones = [...new Set(opts.zones.map(normalizeName).filter((z) => z !== ''))].sort();
  if (zones.length === 0) throw new DnsError(`${where}: no zone configured (--dns.rfc2136.zone)`, 'CONFIG');
  for (const z of zones) encodeName(z);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new DnsError(`${where}: timeout ${timeoutMs} ms is not a positive duration`, 'CONFIG');
  const axfr = opts.axfr ?? true;
  const maxTransferBytes = opts.maxTransferBytes ?? 64 * 1024 * 1024;
  let key: TsigKey | null = null;
  if (opts.tsigKeyName !== undefined && opts.tsigKeyName.trim() !== '') {
    if (opts.tsigSecret === undefined || opts.tsigSecret.length === 0)
      throw new DnsError(`${where}: TSIG key "${opts.tsigKeyName}" has no secret (--dns.rfc2136.tsigsecretfile)`, 'CONFIG');
    key = checkTsigKey({
      name: opts.tsigKeyName,
      algorithm: parseTsigAlgorithm(opts.tsigAlgorithm ?? 'hmac-sha256'),
      secret: opts.tsigSecret,
    });
  } else if (opts.tsigSecret !== undefined) {
    throw new DnsError(`${where}: a TSIG secret is given without a key name (--dns.rfc2136.tsigkeyname)`, 'CONFIG');
  }

  function checkZone(zone: string): string {
    const z = normalizeName(zone);
    if (!zones.includes(z))
      throw new DnsError(`${where}: zone ${z} is not one of the configured zones (${zones.join(', ')})`, 'UNKNOWN_ZONE');
    return z;
  }

  /** Signs (when a key is set) and returns the message and a verifier for its answers. */
  function sign(msg: Buffer): { wire: Buffer; verifier: TsigVerifier | null } {
    if (key === null) return { wire: msg, verifier: null };
    const signed = signMessage(msg, key);
    return { wire: signed.message, verifier: new TsigVerifier(key, signed.mac) };
  }

  /**
   * Checks one answer message: ID, QR, opcode, TSIG (server errors, MAC, time), RCODE.
   * `first` answers to an unsigned request may be unsigned; answers to a signed one must be signed.
   */
  function checkAnswer(msg: Buffer, id: number, opcode: number, verifier: TsigVerifier | null, first: boolean, what: string): void {
    const h = readHeader(msg);
    if (h.id !== id) throw new DnsError(`${where}: ${what}: the answer's ID ${h.id} is not the request's ${id}`, 'BAD_RESPONSE');
    if (!h.qr || h.opcode !== opcode)
      throw new DnsError(
        `${where}: ${what}: the answer is not a response to the request (QR ${Number(h.qr)}, opcode ${h.opcode})`,
        'BAD_RESPONSE',
      );
    const rcode = rcodeName(h.rcode);
    if (verifier !== null) {
      let signed: boolean;
      try {
        signed = verifier.verify(msg);
      } catch (err) {
        if (!(err instanceof DnsError)) throw err;
        const how = err instanceof TsigServerError ? `the server answered ${rcode} with` : `the answer (${rcode}) fails TSIG verification:`;
        throw new DnsError(`${where}: ${what}: ${how} ${err.message}`, err.reason);
      }
      if (!signed && first) {
        if (h.rcode !== 0) throw rcodeError(rcode, what, ' (the answer is not signed)');
        throw new DnsError(`${where}: ${what}: the answer is not signed although the request was (key "${key?.name}")`, 'BADSIG');
      }
    }
    if (h.rcode !== 0) throw rcodeError(rcode, what, '');
  }

  function rcodeError(rcode: string, what: string, note: string): DnsError {
    const meaning = RCODE_MEANING[rcode];
    return new DnsError(`${where}: ${what}: the server answered ${rcode}${note}${meaning === undefined ? '' : `: ${meaning}`}`, rcode);
  }

  function wrapTransport(err: unknown, what: string): DnsError {
    if (err instanceof DnsError) {
      return err.message.startsWith(where) ? err : new DnsError(`${where}: ${what}: ${err.message}`, err.reason);
    }
    return new DnsError(`${where}: ${what}: ${(err as Error)?.message ?? String(err)}`, 'BAD_RESPONSE');
  }

  return {
    kind: 'rfc2136',
    capabilities: { alias: false, read: axfr },

    async zones() {
      return [...zones];
    },

    async records(zone) {
      const z = checkZone(zone);
      const what = `transferring zone ${z} (AXFR)`;
      if (!axfr) throw new DnsError(`${where}: ${what}: zone transfers are off (--dns.rfc2136.axfr=false)`, 'UNSUPPORTED');
      const id = randomInt(0, 0x10000);
      const query = dnsPacket.encode({ type: 'query', id, flags: 0, questions: [{ type: 'AXFR', name: z, class: 'IN' }] });
      const { wire, verifier } = sign(query);
      const sets = new Map<string, { name: string; type: RecordType; ttl: number; values: string[] }>();
      let soaSeen = 0;
      let first = true;
      try {
        await tcpExchange({
          host,
          port,
          request: wire,
          idleTimeoutMs: timeoutMs,
          deadlineMs: timeoutMs * 3,
          maxBytes: maxTransferBytes,
          onMessage: (msg) => {
            checkAnswer(msg, id, OPCODE_QUERY, verifier, first, what);
            if (first) checkQuestion(msg, z, TYPE_AXFR, what);
            first = false;
            let decoded: dnsPacket.DecodedPacket;
            try {
              decoded = dnsPacket.decode(msg);
            } catch (err) {
              throw new DnsError(`${where}: ${what}: the answer does not parse (${(err as Error).message})`, 'BAD_RESPONSE');
            }
            for (const a of decoded.answers ?? []) {
              if (a.type === 'SOA') {
                if (normalizeName(a.name) !== z)
                  throw new DnsError(`${where}: ${what}: the transfer holds the SOA of ${a.name}`, 'BAD_RESPONSE');
                soaSeen++;
                if (soaSeen === 2) break;
                continue;
              }
              if (soaSeen === 0) throw new DnsError(`${where}: ${what}: the transfer does not start with the zone's SOA`, 'BAD_RESPONSE');
              addRecord(sets, z, a);
            }
            if (soaSeen >= 2) {
              try {
                verifier?.end();
              } catch (err) {
                throw new DnsError(`${where}: ${what}: ${(err as Error).message}`, (err as DnsError).reason);
              }
              return true;
            }
            return false;
          },
        });
      } catch (err) {
        throw wrapTransport(err, what);
      }
      return [...sets.values()].map((s) => ({ name: s.name, type: s.type, ttl: s.ttl, values: s.values }));
    },

    async apply(zone, changes) {
      const z = checkZone(zone);
      const what = `updating zone ${z} (${summary(changes)})`;
      let update: Buffer;
      try {
        update = buildUpdate(z, changes, axfr);
      } catch (err) {
        if (err instanceof DnsError) throw new DnsError(`${where}: ${what}: ${err.message}`, err.reason);
        throw err;
      }
      if (update.readUInt16BE(8) === 0) return; // nothing to change
      const id = update.readUInt16BE(0);
      const { wire, verifier } = sign(update);
      try {
        await tcpExchange({
          host,
          port,
          request: wire,
          idleTimeoutMs: timeoutMs,
          deadlineMs: timeoutMs,
          maxBytes: 65535,
          onMessage: (msg) => {
            checkAnswer(msg, id, OPCODE_UPDATE, verifier, true, what);
            checkQuestion(msg, z, TYPE_SOA, what);
            return true;
          },
        });
      } catch (err) {
        throw wrapTransport(err, what);
      }
    },

    async close() {
      // One connection per exchange: nothing stays open.
    },
  };

  /** The answer's zone/question section must be the request's (when the server echoes it, as BIND does). */
  function checkQuestion(msg: Buffer, zone: string, type: number, what: string): void {
    const h = readHeader(msg);
    if (h.qdcount === 0) return;
    const q = readName(msg, HEADER_BYTES);
    if (h.qdcount !== 1 || q.next + 4 > msg.length)
      throw new DnsError(`${where}: ${what}: the answer has ${h.qdcount} questions`, 'BAD_RESPONSE');
    const qtype = msg.readUInt16BE(q.next);
    const qclass = msg.readUInt16BE(q.next + 2);
    if (q.name !== zone || qtype !== type || qclass !== CLASS_IN)
      throw new DnsError(`${where}: ${what}: the answer is for another question (${q.name} type ${qtype} class ${qclass})`, 'BAD_RESPONSE');
  }
}

function addRecord(
  sets: Map<string, { name: string; type: RecordType; ttl: number; values: string[] }>,
  zone: string,
  a: dnsPacket.Answer,
): void {
  if (a.type === 'OPT') return;
  const code = TYPE_CODES[a.type];
  const type = code === undefined ? undefined : MANAGED.get(code);
  if (type === undefined) return;
  const name = normalizeName(a.name);
  if (name !== zone && !name.endsWith(`.${zone}`)) return;
  let value: string;
  if (a.type === 'TXT') {
    const parts = Array.isArray(a.data) ? a.data : [a.data];
    value = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))).toString('utf8');
  } else if (a.type === 'CNAME') {
    value = normalizeName(a.data);
  } else if (a.type === 'A' || a.type === 'AAAA') {
    value = a.data;
  } else return;
  const k = `${name} ${type}`;
  const ttl = a.ttl ?? 0;
  const set = sets.get(k);
  if (set === undefined) sets.set(k, { name, type, ttl, values: [value] });
  else {
    set.ttl = Math.min(set.ttl, ttl);
    if (!set.values.includes(value)) set.values.push(value);
  }
}

function summary(c: RecordChanges): string {
  return `${c.create.length} create, ${c.update.length} update, ${c.delete.length} delete`;
}
