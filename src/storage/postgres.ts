import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { migrationsFor } from './migrations.ts';
import type { Database } from './schema.ts';
import { SqlStore } from './sql-store.ts';

export type PostgresOptions = {
  url: string;
  poolSize: number;
  statementTimeoutMs: number;
  /** `disable`, `require` (encrypted, unverified) or `verify-full` (encrypted, certificate checked). */
  tls: 'disable' | 'require' | 'verify-full';
  /** Called when an idle pooled connection fails, e.g. while the database restarts. */
  onIdleError?: (error: Error) => void;
};

/** An arbitrary constant naming ftshare's migration lock among the database's advisory locks. */
const MIGRATION_LOCK_KEY = 7_384_112_905;

const INT8_OID = 20;

/**
 * The multi-replica store: many server processes over one PostgreSQL database.
 *
 * - `bigint` columns (timestamps, seq) come back as JS numbers: they hold Unix seconds and row
 *   counters, far below 2^53, and the domain wants numbers on both stores.
 * - A grant share-locks the rows it checked, because Postgres runs writers concurrently.
 * - Migrations run under a session advisory lock, so replicas starting together migrate once.
 */
export class PostgresStore extends SqlStore {
  private constructor(db: Kysely<Database>) {
    super(db, { kind: 'postgres', rowLocks: true });
  }

  static open(options: PostgresOptions): PostgresStore {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize,
      statement_timeout: options.statementTimeoutMs,
      connectionTimeoutMillis: 5_000,
      ssl: options.tls === 'disable' ? false : { rejectUnauthorized: options.tls === 'verify-full' },
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    // Without a listener, an idle connection dropped by a database restart would crash the process.
    pool.on('error', (error) => options.onIdleError?.(error));
    return new PostgresStore(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }));
  }

  async migrate(): Promise<void> {
    await this.db.connection().execute(async (connection) => {
      await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`.execute(connection);
      try {
        const migrator = new Migrator({ db: connection, provider: migrationsFor('postgres') });
        const { error } = await migrator.migrateToLatest();
        if (error) throw error;
      } finally {
        await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.execute(connection);
      }
    });
  }

  isUnavailableError(error: unknown): boolean {
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    if (typeof code === 'string') {
      // Class 08: connection exception; 57P0x: the server is shutting down or starting;
      // 53300: too many connections; and the socket errors of an unreachable host.
      if (code.startsWith('08') || code.startsWith('57P') || code === '53300') return true;
      if (['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH'].includes(code)) {
        return true;
      }
    }
    return (
      typeof message === 'string' &&
      /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(
        message,
      )
    );
  }
}
