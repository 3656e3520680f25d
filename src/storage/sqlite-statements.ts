import type BetterSqlite3 from 'better-sqlite3';
import type { CompiledQuery, QueryResult } from 'kysely';

/** A prepared statement, and for a query that returns rows the names of its columns. */
export type Prepared = { statement: BetterSqlite3.Statement; columns: string[] | null };

/**
 * Prepared statements of one connection, by SQL text: Kysely's own driver prepares on every query,
 * which cost as much as running it. The app's SQL comes in a bounded set of shapes; the bound is a guard.
 */
export class Statements {
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

  exec(sql: string): void {
    this.get(sql).statement.run();
  }
}

export function execute(prepared: Prepared, parameters: readonly unknown[]): QueryResult<unknown> {
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
