/**
 * `gatehouse dns [-o json]`: the DNS records the running gateway publishes
 * (docs/dns.md), from `/api/dns`: name, type, targets, state, the last answer
 * check and why a record is not published. Exits 1 when a record is Failed.
 */
import { parseArgs } from 'node:util';
import { EXIT } from './exit-codes.js';
import { AdminError, adminJson } from './admin-client.js';
import { ADMIN_FLAGS, formatTable, targetFrom, type Out } from './stat.js';
import type { DnsStatus } from '../dns/publisher.js';

export const DNS_USAGE = `usage: gatehouse dns [flags]

The DNS records the running gateway publishes for its router hosts and
DNSEndpoint resources (--dns.provider, docs/dns.md): each record's targets,
its state (Published, Pending, Failed, Conflict), when the DNS server last
answered it as expected, and why it is not published. Exits 1 when a record is
Failed (for scripts), 0 otherwise.

flags:
  -o, --output json            the whole status (records, pending deletions, skipped hosts, last error)
      --admin URL              admin API of the running gateway
      --admin-auth-env VAR     basic-auth credentials "user:pass" from this variable
`;

function ago(iso: string | undefined | null, now: number): string {
  if (iso === undefined || iso === null || iso === '') return '-';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : s < 172_800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86400)}d`;
}

function oneLine(s: string, max = 160): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

export function renderDns(status: DnsStatus, now = Date.now()): string {
  const head = [
    `provider ${status.provider}, policy ${status.policy}${status.dryRun ? ', dry run' : ''}, owner ${status.owner}, ` +
      `last sync ${status.lastSync === null ? 'never' : `${ago(status.lastSync, now)} ago`}`,
  ];
  if (status.lastError !== null) head.push(`last error (${status.lastError.reason}): ${oneLine(status.lastError.message, 400)}`);
  if (status.refused !== undefined) head.push(`plan refused: ${status.refused}`);
  if (status.records.length === 0)
    return `${head.join('\n')}\nNo records: no enabled router host (or DNSEndpoint) is inside --dns.domainfilters.\n`;
  const rows = [...status.records]
    .sort((a, b) => (a.name === b.name ? (a.type < b.type ? -1 : 1) : a.name < b.name ? -1 : 1))
    .map((r) => {
      const check = r.lastCheck === undefined ? '-' : `${r.lastCheck.ok ? 'ok' : 'failed'} ${ago(r.lastCheck.at, now)} ago`;
      const message = r.message ?? (r.lastCheck !== undefined && !r.lastCheck.ok ? (r.lastCheck.error ?? '') : '');
      return [r.name, r.type, r.targets.join(','), r.state, check, oneLine(message)];
    });
  return `${head.join('\n')}\n\n${formatTable(['NAME', 'TYPE', 'TARGETS', 'STATE', 'LAST CHECK', 'MESSAGE'], rows)}`;
}

function isStatus(v: unknown): v is DnsStatus {
  return v !== null && typeof v === 'object' && Array.isArray((v as { records?: unknown }).records);
}

export async function dnsMain(argv: string[], env: NodeJS.ProcessEnv, out: Out, err: Out = process.stderr): Promise<number> {
  let a;
  try {
    a = parseArgs({ args: argv, options: { ...ADMIN_FLAGS, output: { type: 'string', short: 'o' } } });
  } catch (e) {
    err.write(`gatehouse dns: ${(e as Error).message}\n\n${DNS_USAGE}`);
    return EXIT.USAGE;
  }
  if (a.values.help === true) {
    out.write(DNS_USAGE);
    return EXIT.OK;
  }
  if (a.values.output !== undefined && a.values.output !== 'json') {
    err.write(`gatehouse dns: -o: expected json, got "${a.values.output}"\n`);
    return EXIT.USAGE;
  }
  try {
    const status = await adminJson<unknown>(targetFrom(a.values, env), '/api/dns');
    if (!isStatus(status)) throw new AdminError('/api/dns: expected the DNS publisher status (an object with records)');
    if ((status as { enabled?: unknown }).enabled === false) {
      err.write('gatehouse dns: DNS publishing is not enabled on this gateway: start it with --dns.provider (docs/dns.md)\n');
      return EXIT.FAILED;
    }
    out.write(a.values.output === 'json' ? `${JSON.stringify(status, null, 2)}\n` : renderDns(status));
    return status.records.some((r) => r.state === 'Failed') ? EXIT.FAILED : EXIT.OK;
  } catch (e) {
    if (e instanceof AdminError) {
      err.write(
        `gatehouse dns: ${e.message}${e.status === 404 ? '\n(is DNS publishing enabled? start the gateway with --dns.provider, docs/dns.md)' : ''}\n`,
      );
      return EXIT.FAILED;
    }
    throw e;
  }
}
