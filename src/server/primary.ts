/**
 * The primary half of Gatehouse, the same in the one process and in a
 * cluster's primary: the configuration watcher (providers → one compiled
 * snapshot per change) with the one list of primary listeners (the reload
 * metrics, the alert engine, delivery to the serving processes), and the
 * answers to the serving processes' questions.
 */
import type { Logger } from '../log.js';
import type { ConfigFragment } from '../config/model.js';
import type { Snapshot } from '../config/runtime.js';
import { sectionOf } from '../config/kinds.js';
import { AlertEngine, alertRulesKind } from '../alerts/index.js';
import { IdentityProvider } from '../identity/index.js';
import type { PrimaryBackplane } from '../cluster/backplane.js';
import type { ConfigWatcher } from './config-watcher.js';
import { createConfigWatcher } from './config-pipeline.js';
import type { ServeOptions } from './options.js';
import { primaryQueries, type CertificateSource } from './telemetry.js';
import { SecretStore, SECRETS_PROVIDER } from '../secrets/index.js';

export interface PrimaryDeps {
  log: Logger;
  extraFragments?: readonly ConfigFragment[];
}

export interface Primary {
  readonly watcher: ConfigWatcher;
  /** The first snapshot (already published). */
  readonly first: Snapshot;
  close(): Promise<void>;
}

/** Create (or rotate) the issuer's signing keys once, before any serving process loads them. */
async function prepareIdentityKeys(o: ServeOptions, log: Logger): Promise<void> {
  if (!(o.identity.enabled || o.identity.insecure)) return;
  const idp = new IdentityProvider({ dataDir: o.dataDir, log });
  await idp.init();
  await idp.close();
}

export async function startPrimary(o: ServeOptions, bp: PrimaryBackplane, deps: PrimaryDeps): Promise<Primary> {
  const { log } = deps;
  await prepareIdentityKeys(o, log);
  const kv = o.secrets.azureKeyVault;
  const secrets =
    kv === null
      ? null
      : new SecretStore({ ...kv, refreshIntervalMs: o.secrets.refreshIntervalMs, log: log.child({ provider: SECRETS_PROVIDER }) });
  const watcher = createConfigWatcher(o, {
    log,
    watch: true,
    secrets,
    ...(deps.extraFragments !== undefined ? { extraFragments: deps.extraFragments } : {}),
  });
  const alerts = new AlertEngine({ metrics: bp.metrics, log: log.child({ service: 'alerts' }) });
  const certificates: CertificateSource = () => [];
  bp.serve({
    ...primaryQueries(bp.metrics, o, { alerts: () => alerts.states(), certs: certificates, providers: () => watcher.providerStatuses() }),
    // GET /api/secrets: where each Key Vault secret comes from, its version and last refresh; never a value.
    secrets: () => secrets?.statuses() ?? [],
  });
  // The primary listeners, in order: every snapshot, the first one included.
  watcher.addListener((s) => {
    bp.metrics.recordConfigReload(s.issues.every((i) => i.severity === 'warning'));
    const stale: Record<string, boolean> = Object.fromEntries(watcher.providerStatuses().map((p) => [p.name, false]));
    for (const r of s.refused ?? []) stale[r.provider] = true;
    bp.metrics.setConfigStale(stale);
    bp.metrics.setProviders(
      watcher.providerStatuses().map((p) => ({
        name: p.name,
        ready:
          (p.conditions?.find((c) => c.type === 'Ready')?.status ?? (p.state === 'ready' ? 'True' : 'False')) === 'True' && !stale[p.name],
        revision: p.lastAppliedRevision ?? p.revision,
      })),
    );
  });
  watcher.addListener((s) => alerts.apply(sectionOf(s, alertRulesKind)?.rules ?? []));
  watcher.addListener((s) => bp.publish(s));
  const first = await watcher.start();
  return {
    watcher,
    first,
    async close() {
      await watcher.close();
      alerts.close();
    },
  };
}
