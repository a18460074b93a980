/**
 * The RFC 2136 UPDATE message the provider (./rfc2136.ts) sends: zone section,
 * prerequisites, updates, with record data encoded by dns-packet. Pure; see docs/dns.md.
 */
import { randomInt } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import dnsPacket from 'dns-packet';
import { DnsError, type RecordChanges, type RecordSet, type RecordType } from './types.js';
import { CLASS_ANY, CLASS_IN, CLASS_NONE, encodeName, HEADER_BYTES, normalizeName, OPCODE_UPDATE, TYPE_SOA } from './wire.js';

export const TYPE_CODES: Readonly<Record<string, number>> = { A: 1, AAAA: 28, CNAME: 5, TXT: 16 };

/** dns-packet's record data codecs (exported at run time as `record(type)`, not in @types/dns-packet). */
interface RdataCodec {
  encode(data: unknown): Buffer;
}
const rdataCodec = (dnsPacket as unknown as { record?: (type: string) => RdataCodec }).record;
if (typeof rdataCodec !== 'function')
  throw new Error('dns-packet does not export record(type): an unsupported dns-packet version is installed');

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** One resource record: name, type, class, TTL, then RDATA with its length (empty: RDLENGTH 0). */
function rr(name: string, type: number, klass: number, ttl: number, rdataWithLength: Buffer | null): Buffer {
  const fixed = Buffer.alloc(8);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(klass, 2);
  fixed.writeUInt32BE(ttl, 4);
  return Buffer.concat([encodeName(name), fixed, rdataWithLength ?? u16(0)]);
}

/** The RDATA of one value, with its two-byte length (dns-packet's codecs). */
export function rdata(type: RecordType, value: string): Buffer {
  const codec = (rdataCodec as (type: string) => RdataCodec)(type);
  switch (type) {
    case 'A':
      if (!isIPv4(value)) throw new DnsError(`"${value}" is not an IPv4 address`, 'BAD_VALUE');
      return codec.encode(value);
    case 'AAAA':
      if (!isIPv6(value)) throw new DnsError(`"${value}" is not an IPv6 address`, 'BAD_VALUE');
      return codec.encode(value);
    case 'CNAME': {
      const n = normalizeName(value);
      encodeName(n); // validates
      if (n === '') throw new DnsError('a CNAME target is empty', 'BAD_VALUE');
      return codec.encode(n);
    }
    case 'TXT': {
      const bytes = Buffer.from(value, 'utf8');
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += 255) chunks.push(bytes.subarray(i, i + 255));
      if (chunks.length === 0) chunks.push(Buffer.alloc(0));
      return codec.encode(chunks);
    }
    default:
      throw new DnsError(`record type ${type} cannot be written over RFC 2136 (no ALIAS: publish a CNAME below the apex)`, 'UNSUPPORTED');
  }
}

/**
 * The UPDATE message for one zone (RFC 2136 section 2): zone section SOA; then
 * - prerequisites, only with `guardCreates` (AXFR on, so the plan saw the zone):
 *   "RRset does not exist" (class NONE) for each created set, so a create never
 *   overwrites a set written since the plan's read (the server answers YXRRSET);
 * - updates, in order: each deleted set removed (class ANY, RDLENGTH 0); each updated
 *   set removed then its records added; each created set's records added.
 * The server applies all of it or nothing.
 */
export function buildUpdate(zone: string, changes: RecordChanges, guardCreates: boolean): Buffer {
  const prereqs: Buffer[] = [];
  const updates: Buffer[] = [];
  const seen = new Set<string>();
  const check = (rs: RecordSet): { name: string; code: number } => {
    const name = normalizeName(rs.name);
    if (name !== zone && !name.endsWith(`.${zone}`)) throw new DnsError(`record ${rs.name} ${rs.type} is not in zone ${zone}`, 'NOTZONE');
    const code = TYPE_CODES[rs.type];
    if (code === undefined)
      throw new DnsError(
        `record type ${rs.type} (${rs.name}) cannot be written over RFC 2136 (no ALIAS: publish a CNAME below the apex)`,
        'UNSUPPORTED',
      );
    const k = `${name} ${rs.type}`;
    if (seen.has(k)) throw new DnsError(`record set ${rs.name} ${rs.type} appears twice in one change of zone ${zone}`, 'DUPLICATE');
    seen.add(k);
    return { name, code };
  };
  const adds = (rs: RecordSet, name: string, code: number): void => {
    if (rs.values.length === 0) throw new DnsError(`record set ${rs.name} ${rs.type} has no values`, 'EMPTY');
    if (!Number.isInteger(rs.ttl) || rs.ttl < 0 || rs.ttl > 0x7fffffff)
      throw new DnsError(`record set ${rs.name} ${rs.type}: TTL ${rs.ttl} is out of range`, 'BAD_VALUE');
    for (const v of rs.values) {
      try {
        updates.push(rr(name, code, CLASS_IN, rs.ttl, rdata(rs.type, v)));
      } catch (err) {
        if (err instanceof DnsError) throw new DnsError(`record set ${rs.name} ${rs.type}: ${err.message}`, err.reason);
        throw err;
      }
    }
  };
  for (const rs of changes.delete) {
    const { name, code } = check(rs);
    updates.push(rr(name, code, CLASS_ANY, 0, null));
  }
  for (const rs of changes.update) {
    const { name, code } = check(rs);
    updates.push(rr(name, code, CLASS_ANY, 0, null));
    adds(rs, name, code);
  }
  for (const rs of changes.create) {
    const { name, code } = check(rs);
    if (guardCreates) prereqs.push(rr(name, code, CLASS_NONE, 0, null));
    adds(rs, name, code);
  }
  if (prereqs.length > 0xffff || updates.length > 0xffff) throw new DnsError(`too many records for one UPDATE message`, 'TOO_LARGE');
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(randomInt(0, 0x10000), 0);
  header.writeUInt16BE(OPCODE_UPDATE << 11, 2);
  header.writeUInt16BE(1, 4); // ZOCOUNT
  header.writeUInt16BE(prereqs.length, 6); // PRCOUNT
  header.writeUInt16BE(updates.length, 8); // UPCOUNT
  const zoneSection = Buffer.concat([encodeName(zone), u16(TYPE_SOA), u16(CLASS_IN)]);
  const msg = Buffer.concat([header, zoneSection, ...prereqs, ...updates]);
  if (msg.length > 0xffff - 512)
    throw new DnsError(`the UPDATE message would be ${msg.length} bytes; at most 65023 fit with its TSIG record`, 'TOO_LARGE');
  return msg;
}
