import { rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isPostgresUrl } from './storage/open.ts';

/**
 * Where the admin key minted on a first start goes. Never the log stream (stdout): logs are
 * collected, shipped and kept, and this is the key's only copy. On a terminal it is shown there
 * (on stderr); otherwise it is written to a file only its owner can read, and the log names the
 * file.
 */
export type AdminKeyDestination = { kind: 'terminal' } | { kind: 'file'; path: string };

/** The file used when `--admin-key-file` is not set and stderr is not a terminal. */
export function defaultAdminKeyFile(db: string, cwd: string): string {
  // Beside a SQLite file, named after it (several databases may share a directory). A store with
  // no directory of its own (`:memory:`, PostgreSQL) uses the directory the server started in.
  if (db === ':memory:' || isPostgresUrl(db)) return resolve(cwd, 'ftshare-admin-key');
  return resolve(cwd, `${db}.admin-key`);
}

export function adminKeyDestination(options: {
  db: string;
  /** `--admin-key-file`: when set, the key goes there even on a terminal. */
  adminKeyFile: string | undefined;
  stderrIsTTY: boolean;
  cwd: string;
}): AdminKeyDestination {
  if (options.adminKeyFile !== undefined) return { kind: 'file', path: resolve(options.cwd, options.adminKeyFile) };
  if (options.stderrIsTTY) return { kind: 'terminal' };
  return { kind: 'file', path: defaultAdminKeyFile(options.db, options.cwd) };
}

/**
 * Writes the key to a new file with mode 0600. A file already there holds a key minted for a
 * store that has since been emptied (an admin key is minted only when the store has none), so it
 * is replaced — removed and created anew rather than overwritten, so the new file gets this mode
 * whatever the old one had, and a symbolic link planted at the path is not followed.
 */
export function writeAdminKeyFile(path: string, secret: string): void {
  rmSync(path, { force: true });
  writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
}

/** The message shown on a terminal: the key, once. */
export function terminalNotice(secret: string): string {
  return [
    '',
    '  ftshare: no admin key existed, so one was created for the default organization.',
    '  It is shown this once and stored only as a hash; keep it somewhere safe:',
    '',
    `      ${secret}`,
    '',
    '  (Set FTSHARE_ADMIN_KEY to choose your own instead.)',
    '',
    '',
  ].join('\n');
}
