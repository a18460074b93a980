/**
 * The `gatehouse` commands in one table: name, one-line summary, usage text
 * and entry point. Every command answers `--help` and `-h` (anywhere before a
 * `--`) with its usage, here, before it parses anything, so no command can
 * forget to. Usage texts live beside each command and are loaded on demand,
 * like the commands themselves.
 */
import { VERSION } from '../version.js';
import { EXIT } from './exit-codes.js';
import { wantsHelp } from './wants-help.js';

export { wantsHelp };

export interface Out {
  write(s: string): unknown;
}

export interface Command {
  readonly name: string;
  /** One line for `gatehouse --help`. */
  readonly summary: string;
  /** The full usage text: `usage: gatehouse <name> …`, then what it does and every flag. */
  usage(): Promise<string>;
  run(argv: string[]): Promise<number>;
}

const env = process.env;
const stdout = process.stdout;

export const COMMANDS: readonly Command[] = [
  {
    name: 'serve',
    summary: 'run the gateway (default when the first argument is a flag)',
    usage: async () => (await import('./serve-command.js')).serveUsage(),
    run: async (a) => (await import('./serve-command.js')).serveMain(a),
  },
  {
    name: 'check',
    summary: 'validate the configuration and print what would run; exit 1 when invalid (--admin URL: also a running gateway)',
    usage: async () => (await import('./check-command.js')).CHECK_USAGE,
    run: async (a) => (await import('./check-command.js')).checkMain(a),
  },
  {
    name: 'stat',
    summary: 'golden metrics per router/service/server/caller/entrypoint, or of one item (like linkerd viz stat)',
    usage: async () => (await import('./stat.js')).STAT_USAGE,
    run: async (a) => (await import('./stat.js')).statMain(a, env, stdout),
  },
  {
    name: 'top',
    summary: 'the busiest paths, refreshed live (like linkerd viz top)',
    usage: async () => (await import('./top.js')).TOP_USAGE,
    run: async (a) => (await import('./top.js')).topMain(a, env, stdout),
  },
  {
    name: 'tap',
    summary: 'live requests crossing the gateway (like linkerd tap)',
    usage: async () => (await import('./tap.js')).TAP_USAGE,
    run: async (a) => (await import('./tap.js')).tapMain(a, env, stdout),
  },
  {
    name: 'edges',
    summary: 'who talks to whom: caller → router → service → server',
    usage: async () => (await import('./edges.js')).EDGES_USAGE,
    run: async (a) => (await import('./edges.js')).edgesMain(a, env, stdout),
  },
  {
    name: 'alerts',
    summary: 'alert rules and their states',
    usage: async () => (await import('./alerts.js')).ALERTS_USAGE,
    run: async (a) => (await import('./alerts.js')).alertsMain(a, env, stdout),
  },
  {
    name: 'diff',
    summary: 'what a configuration (a directory, a git branch) would add, remove or change against a running gateway',
    usage: async () => (await import('./diff-command.js')).DIFF_USAGE,
    run: async (a) => (await import('./diff-command.js')).diffMain(a, env),
  },
  {
    name: 'providers',
    summary: 'configuration providers: the revision in force, ready or not and why (like flux get)',
    usage: async () => (await import('./providers.js')).PROVIDERS_USAGE,
    run: async (a) => (await import('./providers.js')).providersMain(a, env, stdout),
  },
  {
    name: 'dns',
    summary: 'DNS records the gateway publishes: targets, state, last answer check (docs/dns.md)',
    usage: async () => (await import('./dns.js')).DNS_USAGE,
    run: async (a) => (await import('./dns.js')).dnsMain(a, env, stdout),
  },
  {
    name: 'certs',
    summary: 'TLS certificates: names, issuer, days to expiry, source and the routers each serves',
    usage: async () => (await import('./certs.js')).CERTS_USAGE,
    run: async (a) => (await import('./certs.js')).certsMain(a, env, stdout),
  },
  {
    name: 'demo',
    summary: 'run the whole seed scenario: calculator replicas, the gateway, add-cli traffic, alert rules',
    usage: async () => (await import('./demo-command.js')).DEMO_USAGE,
    run: async (a) => (await import('./demo-command.js')).demoMain(a),
  },
  {
    name: 'token',
    summary: 'get a token from the built-in identity provider (client credentials)',
    usage: async () => (await import('./token.js')).TOKEN_USAGE,
    run: async (a) => (await import('./token.js')).tokenMain(a, env, stdout),
  },
  {
    name: 'hash-secret',
    summary: 'hash a client secret for configuration',
    usage: async () => (await import('./hash-secret.js')).HASH_SECRET_USAGE,
    run: async (a) => (await import('./hash-secret.js')).hashSecretMain(a, env, stdout),
  },
  {
    name: 'add',
    summary: 'run the calculator (HTTP + gRPC)',
    usage: async () => (await import('../demo/add-server.js')).ADD_USAGE,
    run: async (a) => {
      await (await import('../demo/add-server.js')).addServerMain(a);
      return EXIT.OK;
    },
  },
  {
    name: 'add-cli',
    summary: 'call the calculator non-stop',
    usage: async () => (await import('../demo/add-cli.js')).ADD_CLI_USAGE,
    run: async (a) => {
      await (await import('../demo/add-cli.js')).addCliMain(a, env);
      return EXIT.OK;
    },
  },
  {
    name: 'version',
    summary: 'print the version',
    usage: () => Promise.resolve('usage: gatehouse version\n\nPrints the version of Gatehouse. No flags (also: gatehouse --version).\n'),
    run: () => {
      console.log(VERSION);
      return Promise.resolve(EXIT.OK);
    },
  },
  {
    name: 'help',
    summary: 'this list, or the usage of one command (gatehouse help <command>)',
    usage: () =>
      Promise.resolve('usage: gatehouse help [command]\n\nPrints the list of commands, or the usage and flags of one command.\n'),
    run: async (a) => {
      const c = a[0] === undefined ? undefined : findCommand(a[0]);
      if (a[0] !== undefined && c === undefined) {
        process.stderr.write(unknownCommand(a[0]));
        return EXIT.USAGE;
      }
      stdout.write(c === undefined ? mainHelp() : ensureNewline(await c.usage()));
      return EXIT.OK;
    },
  },
];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return `gatehouse ${VERSION}: an API gateway with Traefik's configuration

usage: gatehouse [command] [flags]

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)} ${c.summary}`).join('\n')}

'gatehouse <command> --help' (or -h) prints the usage and flags of a command;
'gatehouse serve --help' lists every gateway flag.
`;
}

function unknownCommand(name: string): string {
  return `gatehouse: unknown command "${name}"\n\n${mainHelp()}`;
}

function ensureNewline(s: string): string {
  return s.endsWith('\n') ? s : `${s}\n`;
}

/** Run `gatehouse <argv>`; returns the exit code. Help goes to `out`. */
export async function runCli(argv: string[], out: Out = stdout, err: Out = process.stderr): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd.startsWith('-')) {
    if (cmd === '--help' || cmd === '-h') {
      out.write(mainHelp());
      return EXIT.OK;
    }
    if (cmd === '--version') {
      out.write(`${VERSION}\n`);
      return EXIT.OK;
    }
    const serve = findCommand('serve') as Command;
    return serve.run(argv);
  }
  const c = findCommand(cmd);
  if (c === undefined) {
    err.write(unknownCommand(cmd));
    return EXIT.USAGE;
  }
  if (wantsHelp(rest)) {
    out.write(ensureNewline(await c.usage()));
    return EXIT.OK;
  }
  return c.run(rest);
}
