/**
 * `gatehouse providers [-o json]`: every configuration provider of the running
 * gateway with the revision it has in force and whether it is ready, as
 * `flux get kustomizations` prints them, from `/api/providers`.
 */
import { parseArgs } from 'node:util';
import { EXIT } from './exit-codes.js';
import { AdminError, adminJson } from './admin-client.js';
import { ADMIN_FLAGS, formatTable, targetFrom, type Out } from './stat.js';
import type { ProviderStatus } from '../providers/types.js';

export const PROVIDERS_USAGE = `usage: gatehouse providers [flags]

The configuration providers of the running gateway (file, git, …): the
revision applied and the last one attempted, whether it is ready and why,
and when it last reconciled. A provider that refused its newest revision is
not ready; the message says what was refused and what keeps serving. Exits 1
when a provider is not ready (for scripts), 0 when all are.

flags:
  -o, --output json            the whole status of each provider (conditions, last reconciliations)
      --admin URL              admin API of the running gateway
      --admin-auth-env VAR     basic-auth credentials "user:pass" from this variable
`;

function ago(iso: string | undefined, now: number): string {
  if (iso === undefined || iso === '') return '-';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : s < 172_800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86400)}d`;
}

export function renderProviders(rows: readonly ProviderStatus[], now = Date.now()): string {
  if (rows.length === 0) return 'No providers. Start the gateway with --providers.file.directory (or another provider).\n';
  return formatTable(
    ['NAME', 'TYPE', 'REVISION', 'READY', 'SINCE', 'MESSAGE'],
    rows.map((p) => {
      const ready = p.conditions?.find((c) => c.type === 'Ready');
      const status = ready?.status ?? (p.state === 'ready' ? 'True' : p.state === 'starting' ? 'Unknown' : 'False');
      const attempted = p.lastAttemptedRevision;
      const applied = p.lastAppliedRevision ?? p.revision;
      const revision = attempted !== undefined && attempted !== applied ? `${applied} (attempted ${attempted})` : applied;
      return [
        p.name,
        p.type ?? p.name,
        revision || '-',
        status,
        ago(ready?.lastTransitionTime ?? p.lastUpdate, now),
        ready?.message ?? p.message,
      ];
    }),
  );
}

export async function providersMain(argv: string[], env: NodeJS.ProcessEnv, out: Out, err: Out = process.stderr): Promise<number> {
  let a;
  try {
    a = parseArgs({ args: argv, options: { ...ADMIN_FLAGS, output: { type: 'string', short: 'o' } } });
  } catch (e) {
    err.write(`gatehouse providers: ${(e as Error).message}\n\n${PROVIDERS_USAGE}`);
    return EXIT.USAGE;
  }
  if (a.values.help === true) {
    out.write(PROVIDERS_USAGE);
    return EXIT.OK;
  }
  if (a.values.output !== undefined && a.values.output !== 'json') {
    err.write(`gatehouse providers: -o: expected json, got "${a.values.output}"\n`);
    return EXIT.USAGE;
  }
  try {
    const rows = await adminJson<ProviderStatus[]>(targetFrom(a.values, env), '/api/providers');
    if (!Array.isArray(rows)) throw new AdminError('/api/providers: expected a JSON array');
    out.write(a.values.output === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : renderProviders(rows));
    const notReady = rows.some(
      (p) => (p.conditions?.find((c) => c.type === 'Ready')?.status ?? (p.state === 'ready' ? 'True' : 'False')) !== 'True',
    );
    return notReady ? EXIT.FAILED : EXIT.OK;
  } catch (e) {
    if (e instanceof AdminError) {
      err.write(`gatehouse providers: ${e.message}\n`);
      return EXIT.FAILED;
    }
    throw e;
  }
}
