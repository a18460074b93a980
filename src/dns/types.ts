/**
 * The DNS provider seam: what the record publisher (docs/dns.md) and the ACME
 * DNS-01 solver (docs/tls.md) ask of a DNS server, whichever protocol it speaks
 * (the PowerDNS HTTP API, RFC 2136 dynamic updates with TSIG).
 *
 * Names are fully qualified, lower case, without the trailing dot
 * (`app.example.com`); a zone's apex is the zone name itself.
 */

/** Record types the publisher manages. `ALIAS` exists only where `capabilities.alias` is true. */
export type RecordType = 'A' | 'AAAA' | 'CNAME' | 'ALIAS' | 'TXT';

/** One record set (RRset): every record of one name and type. */
export interface RecordSet {
  readonly name: string;
  readonly type: RecordType;
  readonly ttl: number;
  /**
   * The data of each record: addresses for A/AAAA; a host name (no trailing dot) for
   * CNAME/ALIAS; for TXT the text itself, unquoted (one string per record; a text
   * longer than 255 bytes is split into character-strings on the wire and joined back).
   */
  readonly values: readonly string[];
}

/** What one apply changes in one zone. `update` replaces a whole record set. */
export interface RecordChanges {
  readonly create: readonly RecordSet[];
  readonly update: readonly RecordSet[];
  readonly delete: readonly RecordSet[];
}

export interface DnsCapabilities {
  /** The provider can hold ALIAS records (PowerDNS); otherwise an apex target host name cannot be published. */
  readonly alias: boolean;
  /** The provider can list a zone's records (PowerDNS API; RFC 2136 with AXFR). Without it, plans are create-only. */
  readonly read: boolean;
}

/**
 * A DNS server the gateway writes to. Every method has its own timeout and
 * throws `DnsError` with a message naming the server and what it answered;
 * secrets (API keys, TSIG secrets) never appear in messages.
 */
export interface DnsProvider {
  /** `pdns` or `rfc2136` (the `--dns.provider` value). */
  readonly kind: string;
  readonly capabilities: DnsCapabilities;
  /** The zones this provider may write (configured, or listed by the server). */
  zones(): Promise<string[]>;
  /** Every record set of `zone` of the types in `RecordType` (SOA, NS and others are left out). */
  records(zone: string): Promise<RecordSet[]>;
  /** Applies the changes to `zone`, atomically where the protocol allows (one PATCH; one UPDATE message). */
  apply(zone: string, changes: RecordChanges): Promise<void>;
  close(): Promise<void>;
}

export class DnsError extends Error {
  constructor(
    message: string,
    /** A short machine-readable reason: `BADSIG`, `BADKEY`, `REFUSED`, `NOTAUTH`, `SERVFAIL`, `HTTP_422`, `TIMEOUT`, `UNREACHABLE`, … */
    readonly reason: string,
  ) {
    super(message);
    this.name = 'DnsError';
  }
}

/** The zone (of `zones`) that holds `name`: the longest zone that is `name` or a parent of it. */
export function zoneOf(name: string, zones: readonly string[]): string | undefined {
  const n = name.toLowerCase();
  let best: string | undefined;
  for (const z of zones) {
    const zone = z.toLowerCase();
    if ((n === zone || n.endsWith(`.${zone}`)) && (best === undefined || zone.length > best.length)) best = zone;
  }
  return best;
}
