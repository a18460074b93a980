import { EXIT } from './exit-codes.js';
import { createLogger } from '../log.js';
import { ConfigError, formatIssue } from '../errors.js';
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

export async function serveMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(['usage: gatehouse serve [flags]', '', ...describeStaticConfig()].join('\n'));
    return EXIT.OK;
  }
  const o = loadServeOptions(argv);
  if (o === null) return EXIT.USAGE;
  const log = createLogger(o.logLevel, o.logFile);
  const running = await serve(o, { log });
  const eps = Object.entries(running.addresses)
    .map(([n, a]) => `${n}=${a.host}:${a.port}`)
    .join(' ');
  log.info({ workers: o.workers }, `gatehouse listening: ${eps}`);
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
