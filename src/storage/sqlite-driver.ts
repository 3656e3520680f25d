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
import type { DurableReads, Waiter } from './sqlite-durability.ts';
import { Statements } from './sqlite-statements.ts';

/**
 * Kysely's SQLite dialect, rebuilt around the costs that dominated a request:
 *
 * - Statements are prepared once per connection and SQL text (`sqlite-statements.ts`).
 * - Group commit. Every write transaction (and every write statement outside one) is a *unit*: a
 *   savepoint inside one shared `BEGIN IMMEDIATE` transaction, run while no other unit runs. The
 *   shared transaction is committed once the event loop has handled the I/O at hand
 *   (`setImmediate`), so the writes of all requests that arrived together share one COMMIT.
 *   A unit that fails rolls back to its savepoint and leaves the others intact; units run one at
 *   a time in arrival order, so the group's outcome is that of running them one after the other.
 * - Nothing is acknowledged early: a unit's commit resolves only once its group is durable on
 *   disk, and reads outside a transaction never see a group before then (`sqlite-durability.ts`,
 *   which flushes the WAL off the event loop). A failed COMMIT fails every unit of its group,
 *   none of which has answered yet. Reads inside a transaction run on the writer with the unit.
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
  /** For a database file: reads outside transactions, and when commits are durable. Null for `:memory:`. */
  reads: DurableReads | null;
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

/** A shared transaction: the units that ran in it wait for its COMMIT; `failed` once it cannot commit. */
type Group = { waiters: Waiter[]; failed?: unknown };
/** A unit in progress, and the group it runs in. */
type Unit = { group: Group };

/** How long the writer waits for another process's write lock. */
export const BUSY_TIMEOUT_MS = 5_000;

/** A group this large commits at once instead of waiting for the event loop to come round. */
const MAX_GROUP = 512;

/** What the writer's COMMIT waits on; null for `:memory:`, where a unit commits at its end. */
type Durability = Pick<
  DurableReads,
  'beforeCommit' | 'committed' | 'flushing' | 'afterFlush' | 'walRestartDue' | 'restartWal'
>;

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
    private readonly durability: Durability | null,
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
      if (!this.#group && this.durability?.walRestartDue) await this.durability.restartWal();
      if (!this.#group) {
        // A transaction left open by a COMMIT and ROLLBACK that both failed holds nothing anyone
        // was told about; without this, every later BEGIN would fail for good.
        if (this.statements.db.inTransaction) this.statements.exec('rollback');
        this.statements.exec('begin immediate');
        this.#group = { waiters: [] };
      }
      const unit = { group: this.#group };
      this.statements.exec('savepoint ftshare_unit');
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
        if (keep) this.statements.exec('release ftshare_unit');
        else {
          this.statements.exec('rollback to ftshare_unit');
          this.statements.exec('release ftshare_unit');
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
    if (this.#group === group && (!this.durability || group.waiters.length >= MAX_GROUP)) this.#commit();
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

  /** Rolls back the shared transaction, if one is open; if even that fails, `beginUnit` clears it. */
  #abandon(): void {
    if (!this.statements.db.inTransaction) return;
    try {
      this.statements.exec('rollback');
    } catch {
      // Left open: the next group's beginUnit rolls it back before it begins.
    }
  }

  #scheduleCommit(): void {
    if (this.#commitScheduled) return;
    this.#commitScheduled = true;
    const commit = () => {
      this.#commitScheduled = false;
      // A unit that took the connection since schedules the commit again when it unlocks.
      if (!this.#busy) this.#commit();
    };
    // After the I/O callbacks at hand: the units of every request that arrived with this one. While
    // a flush is out, when it ends: the group then holds all that arrived meanwhile, and shares
    // one COMMIT (one write of each page it touched) and the next flush.
    setImmediate(() => {
      if (this.durability?.flushing) this.durability.afterFlush(commit);
      else commit();
    });
  }

  #commit(): void {
    const group = this.#group;
    if (!group) return;
    this.#group = null;
    try {
      this.durability?.beforeCommit();
      this.statements.exec('commit');
    } catch (error) {
      this.#abandon();
      this.#fail(group, error);
      return;
    }
    if (this.durability) this.durability.committed(group.waiters);
    else for (const waiter of group.waiters) waiter.resolve();
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
    private readonly reads: DurableReads | null,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (this.#unit) return this.writer.run(this.#unit, query) as QueryResult<R>;
    const readOnly = this.writer.statements.get(query.sql).statement.readonly;
    if (readOnly && this.reads) return this.reads.read(query) as QueryResult<R>;
    if (readOnly) {
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
  readonly #reads: DurableReads | null;

  constructor(private readonly connections: SqliteConnections) {
    this.#reads = connections.reads;
    this.#writer = new Writer(connections.writer, this.#reads);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new Session(this.#writer, this.#reads);
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
    await this.#reads?.settle();
    this.#reads?.close();
    this.connections.writer.close();
  }
}
