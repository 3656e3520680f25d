import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { migrationsFor } from './migrations.ts';
import type { Database } from './schema.ts';
import { CUSTOM_PLAN } from './sql/context.ts';
import { SqlStore } from './sql-store.ts';

export type PostgresOptions = {
  url: string;
  poolSize: number;
  /** Server-side statement timeout; the client gives up a second later (an unreachable server). 0 = none. */
  statementTimeoutMs: number;
  /** How long opening a connection, or waiting for a free one, may take before the request answers 503. */
  connectTimeoutMs?: number;
  /** `disable`, `require` (encrypted, unverified) or `verify-full` (encrypted, certificate checked). */
  tls: 'disable' | 'require' | 'verify-full';
  /** Called when an idle pooled connection fails, e.g. while the database restarts. */
  onIdleError?: (error: Error) => void;
  /** The benchmark only: `false` leaves audit events out of writes, to measure what they cost. */
  audit?: boolean;
};

/** An arbitrary constant naming ftshare's migration lock among the database's advisory locks. */
const MIGRATION_LOCK_KEY = 7_384_112_905;

const INT8_OID = 20;

/** How much longer than the statement timeout the client waits for an answer before giving up on the server. */
const CLIENT_TIMEOUT_MARGIN_MS = 1_000;

const READ_TIMEOUT = 'Query read timeout';

/** The pool's option (handed to every client it makes) saying a connection went silent. */
type SilenceOption = { onSilentConnection?: () => void };

/**
 * pg's client-side `query_timeout` rejects the caller but leaves the query outstanding on the
 * connection, which then goes back to the pool stuck behind it — on a network that drops packets,
 * for good. This client ends its connection instead, so the pool discards it and opens a new one,
 * and tells the pool (`onSilentConnection`): its idle connections most likely went silent too.
 */
class GuardedClient extends pg.Client {
  constructor(config?: pg.ClientConfig & SilenceOption) {
    super(config);
    const query = this.query.bind(this) as (...args: unknown[]) => unknown;
    const guarded = (...args: unknown[]) => {
      const result = query(...preparedOnce(args));
      if (!(result instanceof Promise)) return result;
      return result.catch((error: unknown) => {
        if (error instanceof Error && error.message === READ_TIMEOUT) {
          void this.end().catch(() => {});
          config?.onSilentConnection?.();
        }
        throw error;
      });
    };
    (this as unknown as { query: typeof guarded }).query = guarded;
  }
}

/** Statement names by SQL text (a bounded set: the app's queries come in a few dozen shapes). */
const statementNames = new Map<string, string>();

/**
 * A query with parameters becomes a named prepared statement: PostgreSQL parses and plans it once
 * per connection instead of on every call (pg keeps track of which connection has which). The
 * name is derived from the text, so the same text always has the same name. Statements without
 * parameters (BEGIN, COMMIT, DDL in migrations) go as they are.
 */
function preparedOnce(args: unknown[]): unknown[] {
  const [text, values, ...rest] = args;
  if (typeof text !== 'string' || !Array.isArray(values) || values.length === 0) return args;
  // Marked queries stay unnamed: planned with their values, every time (sql/context.ts).
  if (text.includes(CUSTOM_PLAN)) return args;
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `ftshare_${createHash('sha256').update(text).digest('base64url').slice(0, 24)}`;
    if (statementNames.size < 1_000) statementNames.set(text, name);
  }
  return [{ name, text, values }, ...rest];
}

/**
 * The multi-replica store: many server processes over one PostgreSQL database.
 *
 * - `bigint` columns (timestamps, seq) come back as JS numbers: they hold Unix seconds and row
 *   counters, far below 2^53, and the domain wants numbers on both stores.
 * - A grant share-locks the rows it checked, because Postgres runs writers concurrently.
 * - Migrations run under a session advisory lock, so replicas starting together migrate once.
 * - A database that stops, restarts or stops answering makes requests fail fast with errors
 *   `isUnavailableError` recognises (503), never crashes the process, and the pool reconnects
 *   by itself once it is back.
 */
export class PostgresStore extends SqlStore {
  private constructor(db: Kysely<Database>, audit: boolean) {
    super(db, { kind: 'postgres', rowLocks: true, writers: 'shared', audit });
  }

  static open(options: PostgresOptions): PostgresStore {
    // After a network partition heals, each idle connection from before it is silent for good,
    // and would cost the request that next takes it a full query timeout (a 503). When one
    // connection times out, the idle ones are closed, as a database restart would close them:
    // the pool drops them (its idle-error path) and opens fresh ones as requests need them.
    const idle = new Set<pg.PoolClient>();
    const closeIdle = () => {
      for (const client of idle)
        (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    };
    const silence: SilenceOption = { onSilentConnection: closeIdle };
    const pool = new pg.Pool({
      ...silence,
      Client: GuardedClient as unknown as new () => pg.ClientBase,
      connectionString: options.url,
      max: options.poolSize,
      statement_timeout: options.statementTimeoutMs,
      ...(options.statementTimeoutMs > 0
        ? {
            query_timeout: options.statementTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS,
            // A transaction whose client vanished without the database hearing of it (a network
            // partition) would hold its row locks until TCP keepalive noticed, hours later, and
            // every write needing them would time out meanwhile. ftshare's transactions never idle.
            idle_in_transaction_session_timeout: options.statementTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS,
          }
        : {}),
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      ssl: options.tls === 'disable' ? false : { rejectUnauthorized: options.tls === 'verify-full' },
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    // Without a listener, an idle connection dropped by a database restart would crash the process.
    pool.on('error', (error) => options.onIdleError?.(error));
    pool.on('release', (_error, client) => idle.add(client));
    pool.on('acquire', (client) => idle.delete(client));
    pool.on('remove', (client) => idle.delete(client));
    // The pool listens only while a connection is idle. One that dies while checked out (mid-query,
    // or mid-transaction between statements) also emits 'error', and unheard it would crash the
    // process; the query that was using it fails with the same error, which answers 503.
    pool.on('connect', (client) => {
      client.on('error', () => {});
    });
    return new PostgresStore(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), options.audit ?? true);
  }

  /**
   * Every request asks this (src/domain/freshness.ts, batched across requests), so it is one
   * statement of one shape whatever the number of organizations: an array parameter, not IN (...).
   */
  override async accessVersions(orgIds: readonly string[]): Promise<Map<string, number>> {
    const versions = new Map(orgIds.map((id) => [id, 0]));
    if (orgIds.length === 0) return versions;
    const { rows } = await sql<{ org_id: string; n: number }>`
      select org_id, sum(n)::bigint as n from access_versions where org_id = any(${[...orgIds]}::text[]) group by org_id`.execute(
      this.db,
    );
    for (const row of rows) versions.set(row.org_id, Number(row.n));
    return versions;
  }

  async migrate(): Promise<void> {
    await this.db.connection().execute(async (connection) => {
      // Polled rather than awaited in pg_advisory_lock: while another replica migrates, a wait
      // longer than the statement timeout would fail this replica's start.
      for (;;) {
        const { rows } = await sql<{
          locked: boolean;
        }>`select pg_try_advisory_lock(${MIGRATION_LOCK_KEY}) as locked`.execute(connection);
        if (rows[0]?.locked) break;
        await sleep(50 + Math.floor(Math.random() * 50));
      }
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
      // Class 08: connection exception; 57P0x: the server is shutting down or starting; 53300:
      // too many connections; 57014: statement timeout (the database is too busy to answer in
      // time); 40001/40P01: a serialization failure or deadlock, which a retry resolves; and the
      // socket errors of an unreachable host.
      if (code.startsWith('08') || code.startsWith('57P') || ['53300', '57014', '40001', '40P01'].includes(code)) {
        return true;
      }
      if (['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH'].includes(code)) {
        return true;
      }
    }
    return (
      typeof message === 'string' &&
      /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Query read timeout/.test(
        message,
      )
    );
  }
}
