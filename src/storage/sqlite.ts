import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator } from 'kysely';
import { migrationsFor } from './migrations.ts';
import type { Database } from './schema.ts';
import { SqlStore } from './sql-store.ts';
import { SqliteGroupCommitDialect } from './sqlite-driver.ts';

/**
 * The embedded store: one SQLite file (or `:memory:`), opened by one server process.
 *
 * - WAL journal with `synchronous=FULL`: a commit returns only after the WAL is fsynced, so an
 *   acknowledged write survives `kill -9` and power loss alike. Concurrent writes share that
 *   fsync (group commit, `sqlite-driver.ts`); each is still answered only once committed.
 * - Foreign keys are off by default in SQLite; the schema relies on them.
 * - SQLite runs one write transaction at a time, and the driver runs this process's write
 *   transactions one after the other, so grants need no row locks here; see `DialectTraits.rowLocks`.
 */
export class SqliteStore extends SqlStore {
  private constructor(db: Kysely<Database>) {
    super(db, { kind: 'sqlite', rowLocks: false });
  }

  static open(path: string): SqliteStore {
    const inMemory = path === ':memory:';
    if (!inMemory) mkdirSync(dirname(path), { recursive: true });
    const writer = new BetterSqlite3(path);
    writer.pragma('journal_mode = WAL');
    writer.pragma('synchronous = FULL');
    writer.pragma('foreign_keys = ON');
    writer.pragma('busy_timeout = 5000');
    // Reads outside transactions see committed data only, through a connection of their own.
    let reader: BetterSqlite3.Database | null = null;
    if (!inMemory) {
      reader = new BetterSqlite3(path, { readonly: true });
      reader.pragma('busy_timeout = 5000');
    }
    return new SqliteStore(new Kysely<Database>({ dialect: new SqliteGroupCommitDialect({ writer, reader }) }));
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
