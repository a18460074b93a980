import { EXIT } from './exit-codes.js';
import { createLogger } from '../log.js';
import { ConfigError, GatehouseError, formatIssue } from '../errors.js';
import type { Logger } from '../log.js';
import type { Addresses } from '../cluster/protocol.js';
import { parseStaticConfig, describeStaticConfig } from '../config/static.js';
import { serveOptionsFromStatic } from '../server/options-from-static.js';
import { serve } from '../server/serve.js';
import type { ServeOptions } from '../server/options.js';

/** Parse flags/env/file into ServeOptions, printing every problem; null when invalid. */
export function loadServeOptions(argv: string[]): ServeOptions | null {
  try {
    const cfg = parseStaticConfig({ argv, env: process.env, cwd: process.cwd() });
    return serveOptionsFromStatic(cfg, process.cwd());
  } catch (err) {
    if (err instanceof ConfigError) for (const i of err.issues) console.error(`gatehouse: ${formatIssue(i)}`);
    else console.error(`gatehouse: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
}

export function serveUsage(): string {
  return [
    'usage: gatehouse serve [flags]',
    '',
    "Runs the gateway. Flags use Traefik's names (matched case-insensitively); each also",
    'comes from a GATEHOUSE_* variable or from --configfile (YAML/TOML). Every flag:',
    '',
    ...describeStaticConfig(),
    '',
  ].join('\n');
}

export async function serveMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(serveUsage());
    return EXIT.OK;
  }
  const o = loadServeOptions(argv);
  if (o === null) return EXIT.USAGE;
  const log = createLogger(o.logLevel, o.logFile);
  let running;
  try {
    running = await serve(o, { log });
  } catch (err) {
    // One line naming what failed (an entry point that cannot listen, …), no stack, no restart loop.
    if (err instanceof GatehouseError) {
      // Once on the terminal; in the log file too when the log goes to one.
      if (o.logFile !== null && o.logFile !== undefined) log.fatal({ code: err.code }, err.message);
      console.error(`gatehouse: ${err.message}`);
      return err.exitCode;
    }
    throw err;
  }
  announce(o, running.addresses, log);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: draining in-flight requests');
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return EXIT.OK;
}

/**
 * What `serve` says once it listens, at every log level (as Traefik does):
 * one line per entry point with its address, and where the API, the
 * dashboard and the metrics answer.
 */
export function announce(o: ServeOptions, addresses: Addresses, log: Logger): void {
  const say = log.child({}, { level: 'info' });
  const url = (a: { host: string; port: number }): string =>
    `http://${a.host === '' || a.host === '0.0.0.0' || a.host === '::' ? '127.0.0.1' : a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
  for (const [name, a] of Object.entries(addresses))
    say.info({ entryPoint: name, address: `${a.host}:${a.port}` }, `entry point ${name} listening on ${url(a)}`);
  const admin = addresses.traefik;
  if (admin !== undefined) {
    const what = [
      ...(o.api.insecure ? [`API ${url(admin)}/api/overview`] : []),
      ...(o.api.insecure && o.api.dashboard ? [`dashboard ${url(admin)}/dashboard/`] : []),
      ...(o.metrics !== null && o.metrics.entryPoint === 'traefik' ? [`metrics ${url(admin)}/metrics`] : []),
      ...(o.ping !== null && o.ping.entryPoint === 'traefik' ? [`ping ${url(admin)}/ping`] : []),
    ];
    if (what.length > 0) say.info({ entryPoint: 'traefik' }, `admin: ${what.join(', ')}`);
  }
  say.info({ workers: o.workers }, `gatehouse ready with ${o.workers} worker(s)`);
}
