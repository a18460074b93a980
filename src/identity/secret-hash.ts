/**
 * Client-secret hashes: scrypt in PHC string format,
 * `$scrypt$ln=15,r=8,p=1$<salt base64url>$<hash base64url>` (N = 2^ln).
 * Self-describing, so cost parameters can rise without breaking old hashes.
 */
import { randomBytes, scrypt, timingSafeEqual, createHash } from 'node:crypto';

const DEFAULT = { ln: 15, r: 8, p: 1 };
const FORMAT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d)\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{32,})$/;

function run(secret: string, salt: Buffer, ln: number, r: number, p: number, len: number): Promise<Buffer> {
  const N = 2 ** ln;
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, len, { N, r, p, maxmem: 256 * N * r * p + 1024 * 1024 }, (err, key) =>
      err === null ? resolve(key) : reject(err),
    );
  });
}

export function isSecretHash(s: string): boolean {
  const m = FORMAT.exec(s);
  if (m === null) return false;
  const ln = Number(m[1]);
  const r = Number(m[2]);
  const p = Number(m[3]);
  return ln >= 10 && ln <= 20 && r >= 1 && r <= 16 && p >= 1 && p <= 4;
}

export async function hashSecret(secret: string, params: { ln: number; r: number; p: number } = DEFAULT): Promise<string> {
  const salt = randomBytes(16);
  const key = await run(secret, salt, params.ln, params.r, params.p, 32);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Constant-time check of a secret against a hash from `hashSecret`. */
export async function verifySecretHash(secret: string, phc: string): Promise<boolean> {
  if (!isSecretHash(phc)) return false;
  const m = FORMAT.exec(phc) as RegExpExecArray;
  const expected = Buffer.from(m[5] as string, 'base64url');
  const key = await run(secret, Buffer.from(m[4] as string, 'base64url'), Number(m[1]), Number(m[2]), Number(m[3]), expected.length);
  return timingSafeEqual(key, expected);
}

/** Constant-time comparison of a secret with a plain one (compares SHA-256 digests, so lengths never leak). */
export function equalSecrets(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}
