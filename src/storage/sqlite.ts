import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator } from 'kysely';
import { migrationsFor } from './migrations.ts';
import type { Database } from './schema.ts';
import { SqlStore } from './sql-store.ts';
import { Checkpointer } from './sqlite-checkpoints.ts';
import { BUSY_TIMEOUT_MS, SqliteGroupCommitDialect } from './sqlite-driver.ts';
import { DurableReads, type WalSync, walFileSync } from './sqlite-durability.ts';

/**
 * The embedded store: one SQLite file (or `:memory:`), opened by one server process.
 *
 * - WAL journal with `synchronous=NORMAL`, and the WAL flushed with `fdatasync` off the event loop
 *   before any write is answered or visible to reads (`sqlite-durability.ts`): an acknowledged
 *   write survives `kill -9` and power loss alike. Concurrent writes share a COMMIT and a flush
 *   (group commit, `sqlite-driver.ts`).
 * - Foreign keys are off by default in SQLite; the schema relies on them.
 * - SQLite runs one write transaction at a time, and the driver runs this process's write
 *   transactions one after the other, so grants need no row locks here; see `DialectTraits.rowLocks`.
 */
/** SQLite's automatic checkpoint runs in COMMIT once the WAL holds this many pages (160 MB). */
const BACKSTOP_PAGES = 40_000;

export class SqliteStore extends SqlStore {
  private constructor(
    db: Kysely<Database>,
    private readonly reads: DurableReads | null,
    private readonly checkpointer: Checkpointer | null,
    audit: boolean,
  ) {
    super(db, { kind: 'sqlite', rowLocks: false, writers: 'local', audit });
  }

  /**
   * For tests: `wal` replaces the WAL's flush (to hold it back or make it fail), and
   * `walRestartFrames` the WAL size at which the writer starts it over. For the benchmark, `audit:
   * false` leaves audit events out of writes.
   */
  static open(path: string, options: { wal?: WalSync; walRestartFrames?: number; audit?: boolean } = {}): SqliteStore {
    const inMemory = path === ':memory:';
    if (!inMemory) mkdirSync(dirname(path), { recursive: true });
    const writer = new BetterSqlite3(path);
    writer.pragma('journal_mode = WAL');
    // NORMAL: COMMIT does not wait for the disk; DurableReads flushes the WAL before anyone hears.
    writer.pragma(`synchronous = ${inMemory ? 'FULL' : 'NORMAL'}`);
    writer.pragma('foreign_keys = ON');
    // Each write is a savepoint in a shared transaction (sqlite-driver.ts): the first time a unit
    // changes a page an earlier unit of its group changed, SQLite copies it to the savepoint's
    // journal, by default a temporary file, a system call per page. In memory, an audited grant
    // cost 30 % less CPU in process. It holds only what a rollback needs; durability is the WAL's.
    writer.pragma('temp_store = MEMORY');
    writer.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Checkpoints run on a worker thread (sqlite-checkpoints.ts); this one is only a backstop.
    writer.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    const openReader = () => {
      const reader = new BetterSqlite3(path, { readonly: true });
      reader.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      return reader;
    };
    let reads: DurableReads | null = null;
    const checkpointer = inMemory
      ? null
      : new Checkpointer(
          path,
          (frames, countedAt) => reads?.noteWalFrames(frames, countedAt),
          // Without the worker, SQLite's own checkpoint in COMMIT, at its default size, is better
          // than a WAL that only grows.
          () => {
            if (writer.open) writer.pragma('wal_autocheckpoint = 1000');
          },
        );
    if (checkpointer) {
      const wal = options.wal ?? walFileSync(path);
      reads = new DurableReads(openReader, wal, () => checkpointer.restart(), options.walRestartFrames);
    }
    const dialect = new SqliteGroupCommitDialect({ writer, reads });
    return new SqliteStore(new Kysely<Database>({ dialect }), reads, checkpointer, options.audit ?? true);
  }

  override async close(): Promise<void> {
    try {
      await super.close();
    } finally {
      await this.checkpointer?.stop();
    }
  }

  /** Also fails once a WAL flush has failed: writes are refused until a restart (/readyz says so). */
  override async ping(): Promise<void> {
    await super.ping();
    if (this.reads?.failure) throw this.reads.failure;
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
