/**
 * `gatehouse hash-secret`: print a secretHash for an Application's
 * passwordCredentials. The secret comes from --secret-env VAR, --secret-file
 * PATH, or is generated with --generate (then printed once, with its hash).
 */
import { EXIT } from './exit-codes.js';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hashSecret } from '../identity/secret-hash.js';

export const HASH_SECRET_USAGE = `usage: gatehouse hash-secret (--secret-env VAR | --secret-file PATH | --generate)

Prints a scrypt hash ($scrypt$ln=15,r=8,p=1$salt$hash) to use as an Application's
passwordCredentials[].secretHash.

flags:
  --secret-env VAR     hash the secret held by this environment variable
  --secret-file PATH   hash the secret in this file (one trailing newline ignored)
  --generate           make a new random secret and print it once, with its hash
`;

export async function hashSecretMain(argv: string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream): Promise<number> {
  let secret: string | undefined;
  let generated = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    if (flag === '--secret-env') {
      const name = value();
      secret = name === undefined ? undefined : env[name];
      if (secret === undefined || secret === '') {
        out.write(`hash-secret: environment variable ${name ?? '(missing)'} is not set\n`);
        return EXIT.USAGE;
      }
    } else if (flag === '--secret-file') {
      const path = value();
      if (path === undefined) {
        out.write(HASH_SECRET_USAGE);
        return EXIT.USAGE;
      }
      try {
        secret = (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
      } catch (err) {
        out.write(`hash-secret: cannot read ${path}: ${(err as Error).message}\n`);
        return EXIT.USAGE;
      }
    } else if (flag === '--generate') {
      secret = randomBytes(30).toString('base64url');
      generated = true;
    } else if (flag === '--help' || flag === '-h') {
      out.write(HASH_SECRET_USAGE);
      return EXIT.OK;
    } else {
      out.write(`hash-secret: unknown argument ${flag}\n${HASH_SECRET_USAGE}`);
      return EXIT.USAGE;
    }
  }
  if (secret === undefined) {
    out.write(HASH_SECRET_USAGE);
    return EXIT.USAGE;
  }
  const hash = await hashSecret(secret);
  if (generated) out.write(`secret: ${secret}\nsecretHash: ${hash}\n`);
  else out.write(`${hash}\n`);
  return EXIT.OK;
}
