/** Loading `user:hash` entries from `users` and `usersFile` (file entries win). */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { MiddlewareOptionError } from '../types.js';
import { parseHash, type StoredHash } from './hashes.js';

export type UserTable = Record<string, StoredHash>;

function addLine(table: UserTable, line: string, field: string): void {
  const colon = line.indexOf(':');
  if (colon <= 0) throw new MiddlewareOptionError(field, 'expected "user:hash"');
  const user = line.slice(0, colon);
  const stored = parseHash(line.slice(colon + 1).trim());
  if (stored === null) {
    // Never echo the hash (or a password pasted by mistake) back in the message.
    throw new MiddlewareOptionError(
      field,
      `user "${user}": unsupported password hash format (use bcrypt "$2y$", SHA1 "{SHA}" or MD5 "$apr1$", e.g. from htpasswd -nB)`,
    );
  }
  table[user] = stored;
}

/**
 * Build the user table. `usersFile` relative paths are resolved against `baseDir`
 * (the process's working directory, like Traefik).
 */
export function loadUsers(users: readonly string[] | undefined, usersFile: string | undefined, baseDir: string): UserTable {
  const table: UserTable = Object.create(null) as UserTable;
  (users ?? []).forEach((u, i) => addLine(table, u.trim(), `users[${i}]`));
  if (usersFile !== undefined && usersFile !== '') {
    const path = isAbsolute(usersFile) ? usersFile : resolve(baseDir, usersFile);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new MiddlewareOptionError('usersFile', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    text.split(/\r?\n/).forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      addLine(table, line, `usersFile line ${i + 1}`);
    });
  }
  return table;
}
