import { type Kysely, sql, type Transaction } from 'kysely';
import { newId } from '../../ids.ts';
import type { Database } from '../schema.ts';
import type { AuditEventInput, Page, Store, WriteMeta } from '../store.ts';
import { Templates } from './templates.ts';

/** What differs between the SQL dialects, decided by the adapter that opens the database. */
export type DialectTraits = {
  kind: Store['kind'];
  /**
   * Postgres runs writers concurrently, so a grant locks the checkpoint and project rows it checked
   * (checkpoint `FOR NO KEY UPDATE`, projects `FOR SHARE`) until it commits: an archive or delete
   * cannot slip between check and insert.
   * SQLite runs one write transaction at a time, which gives the same guarantee without locks.
   */
  rowLocks: boolean;
  /** See `Store.writers`: with `shared`, every changing write also counts itself in `access_versions`. */
  writers: Store['writers'];
  /**
   * Whether writes insert their audit events: always, but for the benchmark, which measures what
   * auditing costs a write against the same store without it (no setting reaches this).
   */
  audit?: boolean;
};

export type Executor = Kysely<Database> | Transaction<Database>;

/** A write in progress: its transaction, and the audit events that say what it changed. */
export type WriteTx = {
  readonly trx: Transaction<Database>;
  /** Records that the write changed something, described by `event`; a write that records none changed nothing. */
  event(event: AuditEventInput): void;
};

/**
 * Rows of `access_versions` per organization. A writer adds one to a random shard, so concurrent
 * writers of one organization rarely queue on the same row; readers only ever sum the shards.
 */
const VERSION_SHARDS = 16;

/** Audit rows per INSERT statement: 9 columns, well under both dialects' bound-parameter limits. */
const EVENTS_PER_INSERT = 500;

/**
 * What every part of the SQL store shares: the database, compiled queries, the dialect's traits,
 * and the one way to write (`write`), which keeps each change, its audit events and its access
 * version in one transaction.
 */
export class SqlContext {
  /** The queries every request runs, compiled once (see templates.ts). */
  readonly templates = new Templates();
  readonly #changeListeners: Array<(orgId: string) => void> = [];

  constructor(
    readonly db: Kysely<Database>,
    readonly traits: DialectTraits,
  ) {}

  onChange(listener: (orgId: string) => void): void {
    this.#changeListeners.push(listener);
  }

  /**
   * Runs `work` in a transaction of the organization `orgId`. The audit events it records are
   * inserted in the same transaction, after its own statements, and so is its access version: a
   * change is committed with its events and its version, or not at all. Listeners hear of it once
   * it is committed (for SQLite: durable and visible to reads), before the caller answers anyone.
   */
  async write<T>(orgId: string, meta: WriteMeta, work: (tx: WriteTx) => Promise<T>): Promise<T> {
    let events: AuditEventInput[] = [];
    const result = await this.db.transaction().execute(async (trx) => {
      events = []; // a retried callback starts over
      const value = await work({ trx, event: (event) => events.push(event) });
      if (events.length > 0) {
        if (this.traits.audit !== false) await this.#insertEvents(trx, orgId, meta, events);
        if (this.traits.writers === 'shared') await this.#countChange(trx, orgId);
      }
      return value;
    });
    if (events.length > 0) for (const listener of this.#changeListeners) listener(orgId);
    return result;
  }

  async #insertEvents(
    trx: Transaction<Database>,
    orgId: string,
    meta: WriteMeta,
    events: readonly AuditEventInput[],
  ): Promise<void> {
    const actor = meta.actor === null ? null : JSON.stringify(meta.actor);
    const rows = events.map((event) => ({
      id: newId.auditEvent(),
      org_id: orgId,
      type: event.type,
      effective_at: meta.now,
      project_id: event.projectId,
      actor_id: meta.actor?.keyId ?? null,
      resource_id: event.resourceId,
      actor,
      payload: JSON.stringify(event.payload),
    }));
    // One event per write is the common case: its statement is compiled once.
    if (rows.length === 1) {
      await this.templates
        .get('auditInsert', (p) =>
          trx.insertInto('audit_events').values({
            id: p('id'),
            org_id: p('org_id'),
            type: p('type'),
            effective_at: p('effective_at'),
            project_id: p('project_id'),
            actor_id: p('actor_id'),
            resource_id: p('resource_id'),
            actor: p('actor'),
            payload: p('payload'),
          }),
        )
        .run(trx, rows[0] as Record<string, unknown>);
      return;
    }
    for (const chunk of chunks(rows, EVENTS_PER_INSERT)) await trx.insertInto('audit_events').values(chunk).execute();
  }

  /**
   * The emulator's reset: every record of every organization gone, in one transaction. Access
   * versions are not erased but moved on (they must never repeat a value a cache was kept at).
   */
  async eraseEverything(): Promise<void> {
    let orgIds: string[] = [];
    await this.db.transaction().execute(async (trx) => {
      orgIds = (await trx.selectFrom('organizations').select('id').execute()).map((row) => row.id);
      for (const table of [
        'audit_events',
        'model_permissions',
        'checkpoint_permissions',
        'checkpoints',
        'api_keys',
        'service_accounts',
        'projects',
        'organizations',
      ] as const) {
        await trx.deleteFrom(table).execute();
      }
      if (this.traits.writers === 'shared') for (const orgId of orgIds) await this.#countChange(trx, orgId);
    });
    for (const orgId of orgIds) for (const listener of this.#changeListeners) listener(orgId);
  }

  async #countChange(trx: Transaction<Database>, orgId: string): Promise<void> {
    await this.templates
      .get('accessVersionBump', (p) =>
        trx
          .insertInto('access_versions')
          .values({ org_id: p('orgId'), shard: p('shard'), n: 1 })
          .onConflict((oc) => oc.columns(['org_id', 'shard']).doUpdateSet({ n: sql`access_versions.n + 1` })),
      )
      .run(trx, { orgId, shard: Math.floor(Math.random() * VERSION_SHARDS) });
  }

  /** The org's projects among `ids`, share-locked until the transaction ends where the dialect has row locks. */
  async lockedProjects(trx: Transaction<Database>, orgId: string, ids: readonly string[]) {
    const values: Record<string, unknown> = { orgId };
    ids.forEach((id, i) => {
      values[`id${i}`] = id;
    });
    return this.templates
      .get(`lockedProjects:${ids.length}`, (p) => {
        const select = trx
          .selectFrom('projects')
          .select(['id', 'archived_at'])
          .where('org_id', '=', p<string>('orgId'))
          .where(
            'id',
            'in',
            ids.map((_, i) => p<string>(`id${i}`)),
          );
        return this.traits.rowLocks ? select.forShare() : select;
      })
      .run(trx, values);
  }
}

/**
 * Marks a query PostgreSQL should plan with its actual values each time instead of preparing it
 * once (postgres.ts): for queries whose best plan depends on the values (a small organization's
 * audit log in a large one). A comment, so SQLite reads past it.
 */
export const CUSTOM_PLAN = '/* custom plan */';

/** Multi-row inserts of at most `size` rows: under both dialects' bound-parameter limits. */
export function* chunks<T>(items: readonly T[], size = 500): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/**
 * `limit + 1` rows (the extra one says whether there is more), written into the SQL rather than
 * bound: SQLite re-prepares a statement whose LIMIT is a bound parameter every time it is bound
 * (its planner reads the value), which cost a list query as much again as running it. The page
 * size is a validated integer of 1..100, so at most a hundred statements per shape.
 */
export function pageLimit(limit: number) {
  if (!Number.isInteger(limit) || limit < 1 || limit > 1_000) throw new Error(`bad page size ${limit}`);
  return sql.lit(limit + 1);
}

/**
 * The rows after `cursor` in (created_at, id) order, for lists without a row counter (keys,
 * service accounts): ids are random, so the id breaks ties between rows of one second.
 */
export const keysetAfter = (cursor: { created_at: number; id: string }, order: 'asc' | 'desc') =>
  sql<boolean>`(created_at, id) ${sql.raw(order === 'asc' ? '>' : '<')} (${cursor.created_at}, ${cursor.id})`;

/** Rows were fetched with `limit + 1`: the extra row only says whether there is more. */
export function toPage<T>(items: T[], limit: number): Page<T> {
  return items.length > limit ? { items: items.slice(0, limit), hasMore: true } : { items, hasMore: false };
}
