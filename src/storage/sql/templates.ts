import type { Compilable, CompiledQuery, QueryResult } from 'kysely';

/**
 * Queries built and compiled once, then run with fresh values: building a Kysely query and
 * compiling it to SQL cost more than the SQLite lookup it describes, on every request.
 *
 * A template is built with placeholders (`p('hash')`) where values go. Kysely passes every value as
 * a bound parameter, so each placeholder comes out of `compile()` as one parameter, in whatever
 * position the SQL puts it; running the template puts the named value in that position. Values
 * written into the SQL itself (a page size through `sql.lit`) belong to the template's key.
 */
const MARK = '\u0000ftshare-template-parameter:';

/** A placeholder typed as the value it stands for. */
export type Placeholder = <T>(name: string) => T;
const placeholder: Placeholder = <T>(name: string) => `${MARK}${name}` as T;

type Slot = { name: string } | { value: unknown };

/** What runs a compiled query: a Kysely instance or a transaction. */
type Executor = { executeQuery<O>(query: CompiledQuery<O>): Promise<QueryResult<O>> };

export class Template<R> {
  readonly #compiled: CompiledQuery<R>;
  readonly #slots: Slot[];

  constructor(compiled: CompiledQuery<R>) {
    this.#compiled = compiled;
    this.#slots = compiled.parameters.map((value) =>
      typeof value === 'string' && value.startsWith(MARK) ? { name: value.slice(MARK.length) } : { value },
    );
  }

  /** Runs the query on `db` (the store's Kysely or a transaction) with `values` in the placeholders. */
  async run(db: Executor, values: Readonly<Record<string, unknown>>): Promise<R[]> {
    const parameters = this.#slots.map((slot) => {
      if ('value' in slot) return slot.value;
      const value = values[slot.name];
      if (value === undefined) throw new Error(`template parameter ${slot.name} has no value`);
      return value;
    });
    const result = await db.executeQuery<R>({ ...this.#compiled, parameters });
    return result.rows;
  }
}

/** Templates by key, each built on first use. */
export class Templates {
  readonly #cache = new Map<string, Template<unknown>>();

  get<R>(key: string, build: (p: Placeholder) => Compilable<R>): Template<R> {
    let template = this.#cache.get(key) as Template<R> | undefined;
    if (!template) {
      template = new Template(build(placeholder).compile());
      this.#cache.set(key, template as Template<unknown>);
    }
    return template;
  }
}
