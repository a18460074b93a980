/**
 * Password hashes accepted in htpasswd lines, as Traefik does: bcrypt
 * ($2a$/$2b$/$2y$), SHA1 ({SHA}base64), Apache MD5 ($apr1$) and MD5-crypt ($1$).
 * Every comparison is constant-time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { createRequire } from 'node:module';

// apache-md5 is CommonJS (module.exports = fn); load it as such.
const aprMd5 = createRequire(import.meta.url)('apache-md5') as (password: string, salt?: string) => string;

export type HashKind = 'bcrypt' | 'sha1' | 'md5';

export interface StoredHash {
  readonly kind: HashKind;
  readonly hash: string;
}

const BCRYPT = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;
const SHA1 = /^\{SHA\}[A-Za-z0-9+/]{27}=$/;
const MD5 = /^\$(?:apr1|1)\$[^$]{0,8}\$[./0-9A-Za-z]{22}$/;

/** Recognise a hash; null when the format is not supported. */
export function parseHash(hash: string): StoredHash | null {
  if (BCRYPT.test(hash)) return { kind: 'bcrypt', hash };
  if (SHA1.test(hash)) return { kind: 'sha1', hash };
  if (MD5.test(hash)) return { kind: 'md5', hash };
  return null;
}

/** Constant-time string equality (lengths are hidden by hashing both sides first). */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

/** Check `password` against a stored hash. bcrypt is asynchronous (tens of ms). */
export function verifyPassword(password: string, stored: StoredHash): boolean | Promise<boolean> {
  switch (stored.kind) {
    case 'bcrypt':
      return bcrypt.compare(password, stored.hash);
    case 'sha1':
      return safeEqual(`{SHA}${createHash('sha1').update(password).digest('base64')}`, stored.hash);
    case 'md5':
      return safeEqual(aprMd5(password, stored.hash), stored.hash);
  }
}
