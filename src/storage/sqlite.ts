import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { migrationsFor } from './migrations.ts';
import type { Database } from './schema.ts';
import { SqlStore } from './sql-store.ts';

/**
 * The embedded store: one SQLite file (or `:memory:`), opened by one server process.
 *
 * - WAL journal with `synchronous=FULL`: a commit returns only after the WAL is fsynced, so an
 *   acknowledged write survives `kill -9` and power loss alike.
 * - Foreign keys are off by default in SQLite; the schema relies on them.
 * - SQLite runs one write transaction at a time (Kysely's driver also serialises this process's
 *   transactions), so grants need no row locks here; see `DialectTraits.rowLocks`.
 */
export class SqliteStore extends SqlStore {
  private constructor(db: Kysely<Database>) {
    super(db, { kind: 'sqlite', rowLocks: false });
  }

  static open(path: string): SqliteStore {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const database = new BetterSqlite3(path);
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = FULL');
    database.pragma('foreign_keys = ON');
    database.pragma('busy_timeout = 5000');
    return new SqliteStore(new Kysely<Database>({ dialect: new SqliteDialect({ database }) }));
  }

  async migrate(): Promise<void> {
    const migrator = new Migrator({ db: this.db, provider: migrationsFor('sqlite') });
    const { error } = await migrator.migrateToLatest();
    if (error) throw error;
  }

  isUnavailableError(error: unknown): boolean {
    const code = (error as { code?: unknown } | null)?.code;
    return (
      typeof code === 'string' &&
      (code === 'SQLITE_BUSY' ||
        code === 'SQLITE_CANTOPEN' ||
        code === 'SQLITE_FULL' ||
        code.startsWith('SQLITE_IOERR'))
    );
  }
}
