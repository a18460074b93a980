/**
 * `gatehouse token`: the seed's client-credentials curl as one command.
 * POSTs to <url>/<tenant>/oauth2/v2.0/token and prints the access token
 * (or, with --decode, its header and claims).
 */
import { EXIT } from './exit-codes.js';
import { request } from 'undici';

export const TOKEN_USAGE = `usage: gatehouse token --tenant ID|DOMAIN --client-id ID (--client-secret S | --client-secret-env VAR)
                       --scope api://APP/.default [--url http://127.0.0.1:8080] [--decode]

Gets an access token from the built-in issuer (client credentials) and prints it.

flags:
  --tenant ID|DOMAIN        the tenant (id, domain or name)
  --client-id ID            the client application's appId
  --client-secret S         the client secret (prefer --client-secret-env: flags show in ps)
  --client-secret-env VAR   read the client secret from this environment variable
  --scope SCOPE             e.g. api://<API appId>/.default
  --url URL                 where the issuer is served (default http://127.0.0.1:8080)
  --decode                  print the token's header and claims instead of the token
`;

function decodePart(part: string | undefined): unknown {
  if (part === undefined) return null;
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
}

export async function tokenMain(argv: string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream): Promise<number> {
  const o: Record<string, string> = {};
  let decode = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--decode') {
      decode = true;
      continue;
    }
    if (a === '--help' || a === '-h') {
      out.write(TOKEN_USAGE);
      return EXIT.OK;
    }
    const eq = a.indexOf('=');
    const flag = eq > 0 ? a.slice(0, eq) : a;
    if (!['--tenant', '--client-id', '--client-secret', '--client-secret-env', '--scope', '--url'].includes(flag)) {
      out.write(`token: unknown argument ${flag}\n${TOKEN_USAGE}`);
      return EXIT.USAGE;
    }
    const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (v === undefined) {
      out.write(`token: ${flag} needs a value\n`);
      return EXIT.USAGE;
    }
    o[flag.slice(2)] = v;
  }
  let secret: string | undefined = o['client-secret'];
  if (o['client-secret-env'] !== undefined) {
    secret = env[o['client-secret-env']];
    if (secret === undefined || secret === '') {
      out.write(`token: environment variable ${o['client-secret-env']} is not set\n`);
      return EXIT.USAGE;
    }
  }
  const tenant = o.tenant;
  const clientId = o['client-id'];
  const scope = o.scope;
  if (tenant === undefined || clientId === undefined || scope === undefined || secret === undefined) {
    out.write(TOKEN_USAGE);
    return EXIT.USAGE;
  }
  const base = (o.url ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const url = `${base}/${encodeURIComponent(tenant)}/oauth2/v2.0/token`;
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope });
  let status: number;
  let text: string;
  try {
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      signal: AbortSignal.timeout(15_000),
    });
    status = res.statusCode;
    text = await res.body.text();
  } catch (err) {
    out.write(`token: request to ${url} failed: ${(err as Error).message}\n`);
    return EXIT.FAILED;
  }
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* not JSON */
  }
  if (status !== 200 || typeof body.access_token !== 'string') {
    const desc = typeof body.error_description === 'string' ? body.error_description : text.slice(0, 500);
    out.write(`token: HTTP ${status}: ${typeof body.error === 'string' ? `${body.error}: ` : ''}${desc}\n`);
    return EXIT.FAILED;
  }
  if (!decode) {
    out.write(`${body.access_token}\n`);
    return EXIT.OK;
  }
  const parts = body.access_token.split('.');
  out.write(`${JSON.stringify({ header: decodePart(parts[0]), claims: decodePart(parts[1]), expires_in: body.expires_in }, null, 2)}\n`);
  return EXIT.OK;
}
