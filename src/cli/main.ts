#!/usr/bin/env node
/**
 * The `gatehouse` command: serve (default), check, stat, top, tap, edges, demo, token, hash-secret,
 * add, add-cli, version. Each subcommand lives in its own file.
 */
import { serveMain } from './serve-command.js';
import { checkMain } from './check-command.js';
import { VERSION } from '../version.js';
import { GatehouseError } from '../errors.js';
import { EXIT } from './exit-codes.js';

const HELP = `gatehouse ${VERSION}: an API gateway with Traefik's configuration

usage: gatehouse [command] [flags]

commands:
  serve        run the gateway (default when the first argument is a flag)
  check        validate the configuration and print what would run; exit 1 when invalid
               (also checks a running gateway at --admin URL)
  stat         golden metrics per router/service/server/caller/entrypoint (like linkerd viz stat)
  top          the busiest paths, refreshed live (like linkerd viz top)
  tap          live requests crossing the gateway (like linkerd tap)
  edges        who talks to whom: caller → router → service → server
  demo         run the whole seed scenario: calculator replicas, the gateway, add-cli traffic
  token        get a token from the built-in identity provider (client credentials)
  hash-secret  hash a client secret for configuration
  alerts       alert rules and their states
  add          run the calculator (HTTP + gRPC)
  add-cli      call the calculator non-stop
  version      print the version

'gatehouse serve --help' lists every flag.`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd.startsWith('-')) {
    if (cmd === '--help' || cmd === '-h') {
      console.log(HELP);
      return EXIT.OK;
    }
    if (cmd === '--version') {
      console.log(VERSION);
      return EXIT.OK;
    }
    return serveMain(argv);
  }
  switch (cmd) {
    case 'serve':
      return serveMain(rest);
    case 'check':
      return checkMain(rest);
    case 'stat':
      return (await import('./stat.js')).statMain(rest, process.env, process.stdout);
    case 'top':
      return (await import('./top.js')).topMain(rest, process.env, process.stdout);
    case 'tap':
      return (await import('./tap.js')).tapMain(rest, process.env, process.stdout);
    case 'edges':
      return (await import('./edges.js')).edgesMain(rest, process.env, process.stdout);
    case 'demo':
      return (await import('./demo-command.js')).demoMain(rest);
    case 'token':
      return (await import('./token.js')).tokenMain(rest, process.env, process.stdout);
    case 'hash-secret':
      return (await import('./hash-secret.js')).hashSecretMain(rest, process.env, process.stdout);
    case 'add':
      await (await import('../demo/add-server.js')).addServerMain(rest);
      return EXIT.OK;
    case 'add-cli':
      await (await import('../demo/add-cli.js')).addCliMain(rest, process.env);
      return EXIT.OK;
    case 'version':
      console.log(VERSION);
      return EXIT.OK;
    case 'help':
      console.log(HELP);
      return EXIT.OK;
    case 'alerts':
      return (await import('./alerts.js')).alertsMain(rest, process.env, process.stdout);
    default:
      console.error(`gatehouse: unknown command "${cmd}"\n\n${HELP}`);
      return EXIT.USAGE;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = err instanceof GatehouseError ? err.exitCode : EXIT.FAILED;
  },
);
