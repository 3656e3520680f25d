import type BetterSqlite3 from 'better-sqlite3';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';

/**
 * Kysely's SQLite dialect, rebuilt around two costs that dominated a request:
 *
 * - Statements are prepared once per connection and SQL text, not on every query (Kysely's own
 *   driver prepares each time, which cost as much as running the query).
 * - Group commit. With `synchronous=FULL` every COMMIT waits for an fsync of the WAL, so one
 *   transaction per write capped writes at one fsync each, whatever the load. Here every write
 *   transaction (and every write statement outside one) is a *unit*: a savepoint inside one shared
 *   `BEGIN IMMEDIATE` transaction, run while no other unit runs. The shared transaction is
 *   committed once the event loop has handled the I/O at hand (`setImmediate`), so the writes of
 *   all requests that arrived together share one fsync. Nothing is acknowledged early: a unit's
 *   commit (or rollback) resolves only after that COMMIT has returned, so an answered write is
 *   durable, and a failed COMMIT fails every unit of its group (none of which has answered yet).
 *   A unit that fails rolls back to its savepoint and leaves the others intact; units run one at
 *   a time in arrival order, so the group's outcome is that of running them one after the other.
 * - Reads outside a transaction run on a second, read-only connection to the same file. In WAL
 *   mode it sees only committed data: never a unit in flight, nor a group not yet durable (and so
 *   not yet acknowledged to anyone). Reads inside a transaction run on the writer with the unit.
 *
 * Rule for callers: a transaction callback awaits only its own queries. The group commits when no
 * unit holds the connection, so a callback that waits on anything else (a timer, a network call)
 * holds back the answers of every write in its group.
 *
 * For `:memory:` (tests, one connection) there is no second connection and no deferred commit:
 * every operation takes the writer in turn and each unit commits at its end, as Kysely's own
 * driver behaves.
 */
export type SqliteConnections = {
  writer: BetterSqlite3.Database;
  /** A second connection to the same file for reads, or null (`:memory:`). */
  reader: BetterSqlite3.Database | null;
};

export class SqliteGroupCommitDialect implements Dialect {
  constructor(private readonly connections: SqliteConnections) {}
  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }
  createDriver(): Driver {
    return new GroupCommitDriver(this.connections);
  }
  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }
  // biome-ignore lint/suspicious/noExplicitAny: Kysely's own signature
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}

/** A prepared statement, and for a query that returns rows the names of its columns. */
type Prepared = { statement: BetterSqlite3.Statement; columns: string[] | null };

/** Prepared statements by SQL text. The app's SQL comes in a bounded set of shapes; the bound is a guard. */
class Statements {
  readonly #cache = new Map<string, Prepared>();
  constructor(readonly db: BetterSqlite3.Database) {}

  get(sql: string): Prepared {
    let prepared = this.#cache.get(sql);
    if (!prepared) {
      const statement = this.db.prepare(sql);
      // Rows come back as arrays and become objects in JS (below): better-sqlite3 builds row
      // objects through the V8 API, re-internalising every column name of every row.
      if (statement.reader) statement.raw(true);
      prepared = { statement, columns: statement.reader ? statement.columns().map((c) => c.name) : null };
      if (this.#cache.size >= 2_000) {
        const oldest = this.#cache.keys().next().value;
        if (oldest !== undefined) this.#cache.delete(oldest);
      }
      this.#cache.set(sql, prepared);
    }
    return prepared;
  }

  run(query: CompiledQuery): QueryResult<unknown> {
    return execute(this.get(query.sql), query.parameters);
  }
}

function execute(prepared: Prepared, parameters: readonly unknown[]): QueryResult<unknown> {
  const { statement } = prepared;
  if (!prepared.columns) {
    const { changes, lastInsertRowid } = statement.run(parameters);
    return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
  }
  const values = statement.all(parameters) as unknown[][];
  // A schema change re-prepares the statement inside SQLite; its columns are read again then.
  if (values.length > 0 && values[0]?.length !== prepared.columns.length) {
    prepared.columns = statement.columns().map((c) => c.name);
  }
  const columns = prepared.columns;
  const rows = new Array<Record<string, unknown>>(values.length);
  for (let r = 0; r < values.length; r++) {
    const value = values[r] as unknown[];
    const row: Record<string, unknown> = {};
    for (let c = 0; c < columns.length; c++) row[columns[c] as string] = value[c];
    rows[r] = row;
  }
  return { rows };
}

/**
 * The read connection. Its reads share one read transaction (one snapshot) until the event loop
 * comes round (`setImmediate`) or this process commits a write, whichever is first: a statement
 * outside a transaction otherwise opens and closes a WAL read transaction of its own (file-lock
 * system calls that cost more than a key lookup). A request that starts after a write was
 * acknowledged reads a newer snapshot: the commit closed the old one before answering anyone, and
 * a request arriving from another client comes in a later turn of the loop.
 */
class Reader {
  readonly statements: Statements;
  #open = false;

  constructor(db: BetterSqlite3.Database) {
    this.statements = new Statements(db);
  }

  /** The prepared statement for `sql`, to learn whether it only reads. */
  prepare(sql: string): Prepared {
    return this.statements.get(sql);
  }

  read(prepared: Prepared, parameters: readonly unknown[]): QueryResult<unknown> {
    if (!this.#open) {
      this.statements.get('begin').statement.run();
      this.#open = true;
      setImmediate(() => this.close());
    }
    try {
      return execute(prepared, parameters);
    } catch (error) {
      if (!this.statements.db.inTransaction) this.#open = false;
      throw error;
    }
  }

  /** Ends the snapshot: the next read sees everything committed by then. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    if (this.statements.db.inTransaction) this.statements.get('commit').statement.run();
  }
}

type Waiter = { resolve: () => void; reject: (error: unknown) => void };
/** A shared transaction: the units that ran in it wait for its COMMIT; `failed` once it cannot commit. */
type Group = { waiters: Waiter[]; failed?: unknown };
/** A unit in progress, and the group it runs in. */
type Unit = { group: Group };

/** A group this large commits at once instead of waiting for the event loop to come round. */
const MAX_GROUP = 512;

/** The writer connection: one unit at a time, units grouped into shared transactions. */
class Writer {
  readonly statements: Statements;
  #busy = false;
  readonly #queue: Array<() => void> = [];
  #group: Group | null = null;
  #commitScheduled = false;
  #idle: Array<() => void> = [];

  constructor(
    db: BetterSqlite3.Database,
    /** false: each unit commits at its end (one connection, no durability to batch). */
    private readonly deferCommit: boolean,
    /** Called after every successful COMMIT, before anyone is told. */
    private readonly afterCommit: () => void = () => {},
  ) {
    this.statements = new Statements(db);
  }

  /** Waits for exclusive use of the connection (units and, with one connection, reads). */
  async lock(): Promise<void> {
    if (this.#busy) {
      await new Promise<void>((resolve) => this.#queue.push(resolve));
      return; // handed over with #busy still set
    }
    this.#busy = true;
  }

  unlock(): void {
    const next = this.#queue.shift();
    if (next) {
      next();
      return;
    }
    this.#busy = false;
    if (this.#group) this.#scheduleCommit();
    else this.#notifyIdle();
  }

  /** Starts a unit: the lock, the shared transaction (opened if none is), a savepoint. */
  async beginUnit(): Promise<Unit> {
    await this.lock();
    try {
      if (!this.#group) {
        // A transaction left open by a COMMIT and ROLLBACK that both failed holds nothing anyone
        // was told about; without this, every later BEGIN would fail for good.
        if (this.statements.db.inTransaction) this.#exec('rollback');
        this.#exec('begin immediate');
        this.#group = { waiters: [] };
      }
      const unit = { group: this.#group };
      this.#exec('savepoint ftshare_unit');
      return unit;
    } catch (error) {
      // e.g. SQLITE_BUSY: another process held the write lock past busy_timeout.
      if (this.#group && !this.statements.db.inTransaction) this.#fail(this.#group, error);
      this.unlock();
      throw error;
    }
  }

  /** A statement of `unit`, which holds the lock. */
  run(unit: Unit, query: CompiledQuery): QueryResult<unknown> {
    if (unit.group.failed) throw unit.group.failed;
    try {
      return this.statements.run(query);
    } catch (error) {
      // SQLITE_FULL, _IOERR, _BUSY and _NOMEM can make SQLite roll back the whole transaction:
      // every unit of the group is lost then, and fails with this error.
      if (!this.statements.db.inTransaction) this.#fail(unit.group, error);
      throw error;
    }
  }

  /**
   * Ends `unit` (its changes kept, or undone back to its savepoint), lets the next unit in, and
   * resolves once the shared transaction holding it is durably committed; rejects if it is not.
   */
  endUnit(unit: Unit, keep: boolean): Promise<void> {
    const { group } = unit;
    let ended: Promise<void>;
    if (group.failed) {
      ended = Promise.reject(group.failed);
    } else {
      try {
        if (keep) this.#exec('release ftshare_unit');
        else {
          this.#exec('rollback to ftshare_unit');
          this.#exec('release ftshare_unit');
        }
        ended = new Promise<void>((resolve, reject) => group.waiters.push({ resolve, reject }));
      } catch (error) {
        // The savepoint could be neither undone nor released: its changes would ride along with
        // the group's COMMIT. The whole group is rolled back and fails; none of it has answered yet.
        this.#abandon();
        this.#fail(group, error);
        ended = Promise.reject(group.failed);
      }
    }
    if (this.#group === group && (!this.deferCommit || group.waiters.length >= MAX_GROUP)) this.#commit();
    this.unlock();
    return ended;
  }

  /** Resolves when no unit runs and no group is open: everything acknowledged is committed. */
  async settle(): Promise<void> {
    while (this.#busy || this.#group) {
      if (!this.#busy) {
        this.#commit();
        continue;
      }
      await new Promise<void>((resolve) => this.#idle.push(resolve));
    }
  }

  #exec(sql: string): void {
    this.statements.get(sql).statement.run();
  }

  /** Rolls back the shared transaction, if one is open; if even that fails, `beginUnit` clears it. */
  #abandon(): void {
    if (!this.statements.db.inTransaction) return;
    try {
      this.#exec('rollback');
    } catch {
      // Left open: the next group's beginUnit rolls it back before it begins.
    }
  }

  #scheduleCommit(): void {
    if (this.#commitScheduled) return;
    this.#commitScheduled = true;
    // After the I/O callbacks at hand: the units of every request that arrived with this one.
    setImmediate(() => {
      this.#commitScheduled = false;
      // A unit that took the connection since schedules the commit again when it unlocks.
      if (!this.#busy) this.#commit();
    });
  }

  #commit(): void {
    const group = this.#group;
    if (!group) return;
    this.#group = null;
    try {
      this.#exec('commit');
    } catch (error) {
      this.#abandon();
      this.#fail(group, error);
      return;
    }
    try {
      this.afterCommit();
    } catch {
      // Only the reader's snapshot failed to end; the commit stands and its waiters must hear so.
    }
    for (const waiter of group.waiters) waiter.resolve();
    if (!this.#busy) this.#notifyIdle();
  }

  #fail(group: Group, error: unknown): void {
    group.failed ??= error ?? new Error('the shared transaction was rolled back');
    for (const waiter of group.waiters) waiter.reject(group.failed);
    group.waiters.length = 0;
    if (this.#group === group) this.#group = null;
    if (!this.#busy) this.#notifyIdle();
  }

  #notifyIdle(): void {
    const idle = this.#idle;
    this.#idle = [];
    for (const resolve of idle) resolve();
  }
}

/** One Kysely "connection": a standalone query, or one transaction (a unit). */
class Session implements DatabaseConnection {
  #unit: Unit | null = null;

  constructor(
    private readonly writer: Writer,
    private readonly reader: Reader | null,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (this.#unit) return this.writer.run(this.#unit, query) as QueryResult<R>;
    if (this.reader) {
      const prepared = this.reader.prepare(query.sql);
      if (prepared.statement.readonly) return this.reader.read(prepared, query.parameters) as QueryResult<R>;
    } else if (this.writer.statements.get(query.sql).statement.readonly) {
      await this.writer.lock();
      try {
        return this.writer.statements.run(query) as QueryResult<R>;
      } finally {
        this.writer.unlock();
      }
    }
    // A write outside a transaction: a unit of its own, answered once durable.
    const unit = await this.writer.beginUnit();
    let result: QueryResult<R>;
    try {
      result = this.writer.run(unit, query) as QueryResult<R>;
    } catch (error) {
      await this.writer.endUnit(unit, false).catch(() => {});
      throw error;
    }
    await this.writer.endUnit(unit, true);
    return result;
  }

  async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    const { rows } = await this.executeQuery<R>(query);
    for (const row of rows) yield { rows: [row] };
  }

  async begin(): Promise<void> {
    if (this.#unit) throw new Error('nested transactions are not supported');
    this.#unit = await this.writer.beginUnit();
  }

  async end(keep: boolean): Promise<void> {
    const unit = this.#unit;
    // Kysely rolls back after a failed COMMIT; that unit already ended with its group, and
    // throwing here would replace the COMMIT's error (and its 503) with this one.
    if (!unit && !keep) return;
    if (!unit) throw new Error('no transaction in progress');
    this.#unit = null;
    await this.writer.endUnit(unit, keep);
  }
}

class GroupCommitDriver implements Driver {
  readonly #writer: Writer;
  readonly #reader: Reader | null;

  constructor(private readonly connections: SqliteConnections) {
    const reader = connections.reader ? new Reader(connections.reader) : null;
    this.#reader = reader;
    this.#writer = new Writer(connections.writer, reader !== null, () => reader?.close());
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new Session(this.#writer, this.#reader);
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as Session).begin();
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as Session).end(true);
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as Session).end(false);
  }

  async releaseConnection(): Promise<void> {}

  async destroy(): Promise<void> {
    await this.#writer.settle();
    this.#reader?.close();
    this.connections.reader?.close();
    this.connections.writer.close();
  }
}
