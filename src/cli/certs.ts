/**
 * `gatehouse certs [-o json]`: the TLS certificates of the running gateway
 * (names, issuer, expiry, where each comes from, the routers it serves), from
 * `/api/tls/certificates`. Exits 1 when a certificate in use expires within
 * 14 days (or has expired), for scripts and cron.
 */
import { parseArgs } from 'node:util';
import { EXIT } from './exit-codes.js';
import { AdminError, adminJson } from './admin-client.js';
import { ADMIN_FLAGS, formatTable, targetFrom, type Out } from './stat.js';
import type { CertificateView } from '../tls/status.js';

export const CERTS_USAGE = `usage: gatehouse certs [flags]

The TLS certificates of the running gateway: the names each serves, its
issuer, days to expiry, where it comes from (file, inline, kubernetes, acme,
generated) and the TLS routers it answers for. Exits 1 when a certificate in
use expires within 14 days or has expired, 0 otherwise. Keys are never shown.

flags:
  -o, --output json            every field of each certificate
      --admin URL              admin API of the running gateway
      --admin-auth-env VAR     basic-auth credentials "user:pass" from this variable
`;

const WARN_DAYS = 14;

export function renderCerts(rows: readonly CertificateView[]): string {
  if (rows.length === 0) return 'No TLS certificates.\n';
  return formatTable(
    ['NAMES', 'ISSUER', 'EXPIRES', 'DAYS', 'SOURCE', 'ROUTERS'],
    rows.map((c) => [
      c.names.join(',') || c.commonName,
      /CN=([^,]+)/.exec(c.issuer)?.[1] ?? c.issuer,
      c.notAfter.slice(0, 10),
      String(c.daysLeft),
      c.source + (c.default ? ' (default)' : '') + (c.resolver !== undefined ? ` ${c.resolver}` : ''),
      c.routers.join(',') || '-',
    ]),
  );
}

export async function certsMain(argv: string[], env: NodeJS.ProcessEnv, out: Out, err: Out = process.stderr): Promise<number> {
  let a;
  try {
    a = parseArgs({ args: argv, options: { ...ADMIN_FLAGS, output: { type: 'string', short: 'o' } } });
  } catch (e) {
    err.write(`gatehouse certs: ${(e as Error).message}\n\n${CERTS_USAGE}`);
    return EXIT.USAGE;
  }
  if (a.values.help === true) {
    out.write(CERTS_USAGE);
    return EXIT.OK;
  }
  if (a.values.output !== undefined && a.values.output !== 'json') {
    err.write(`gatehouse certs: -o: expected json, got "${a.values.output}"\n`);
    return EXIT.USAGE;
  }
  try {
    const rows = await adminJson<CertificateView[]>(targetFrom(a.values, env), '/api/tls/certificates');
    if (!Array.isArray(rows)) throw new AdminError('/api/tls/certificates: expected a JSON array');
    out.write(a.values.output === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : renderCerts(rows));
    const expiring = rows.some((c) => c.source !== 'generated' && c.daysLeft < WARN_DAYS);
    return expiring ? EXIT.FAILED : EXIT.OK;
  } catch (e) {
    if (e instanceof AdminError) {
      err.write(`gatehouse certs: ${e.message}\n`);
      return EXIT.FAILED;
    }
    throw e;
  }
}
