import type { Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import type { ApiKey, KeyQuery, KeyRecord, Organization, Page, WriteMeta } from '../store.ts';
import { type Executor, keysetAfter, pageLimit, type SqlContext, toPage, type WriteTx } from './context.ts';
import { apiKeyFromRow, apiKeyToRow } from './rows.ts';

/** Organizations, admin keys and key lookup. */

export async function createOrganization(
  ctx: SqlContext,
  org: Organization,
  firstAdminKey: ApiKey | null,
  meta: WriteMeta,
): Promise<void> {
  await ctx.write(org.id, meta, async (tx) => {
    await tx.trx
      .insertInto('organizations')
      .values({ id: org.id, name: org.name, created_at: org.createdAt })
      .execute();
    if (firstAdminKey) await insertKey(tx, firstAdminKey, []);
  });
}

export async function getOrganization(ctx: SqlContext, id: string): Promise<Organization | undefined> {
  const row = await ctx.db.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst();
  return row && { id: row.id, name: row.name, createdAt: Number(row.created_at) };
}

export async function listOrganizations(ctx: SqlContext): Promise<Organization[]> {
  const rows = await ctx.db.selectFrom('organizations').selectAll().orderBy('created_at').orderBy('id').execute();
  return rows.map((row) => ({ id: row.id, name: row.name, createdAt: Number(row.created_at) }));
}

/** Inserts `key` with its `api_key.created` event. */
export async function insertKey(tx: WriteTx, key: ApiKey, scopes: readonly string[]): Promise<void> {
  await tx.trx.insertInto('api_keys').values(apiKeyToRow(key)).execute();
  keyCreated(tx, key, scopes);
}

function keyCreated(tx: WriteTx, key: ApiKey, scopes: readonly string[]): void {
  tx.event({
    type: 'api_key.created',
    projectId: key.projectId,
    resourceId: key.id,
    payload: { id: key.id, data: { scopes } },
  });
}

/** Marks `key` deleted, with its `api_key.deleted` event. */
export async function revokeKey(tx: WriteTx, key: Pick<ApiKey, 'id' | 'projectId'>, now: number): Promise<void> {
  await tx.trx.updateTable('api_keys').set({ revoked_at: now }).where('id', '=', key.id).execute();
  tx.event({ type: 'api_key.deleted', projectId: key.projectId, resourceId: key.id, payload: { id: key.id } });
}

export async function addApiKey(ctx: SqlContext, key: ApiKey, meta: WriteMeta, replacing?: string): Promise<boolean> {
  return ctx.write(key.orgId, meta, async (tx) => {
    // Insert first, ON CONFLICT DO NOTHING: replicas starting together with one FTSHARE_ADMIN_KEY all
    // add it at once, and a look-then-insert let them all see it absent and all but one fail (and
    // exit) on the unique hash. The loser's insert waits for the winner's commit, then does nothing.
    const inserted = await tx.trx
      .insertInto('api_keys')
      .values(apiKeyToRow(key))
      .onConflict((oc) => oc.column('hash').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) return false;
    // The new key's event first: the rotation reads as the new key created, then the old ones deleted.
    keyCreated(tx, key, []);
    if (replacing !== undefined) {
      const replaced = await activeAdminKeys(tx.trx, key.orgId, meta.now, ctx.traits.rowLocks)
        .where('name', '=', replacing)
        .where('id', '!=', key.id)
        .execute();
      for (const old of replaced) await revokeKey(tx, { id: old.id, projectId: null }, meta.now);
    }
    return true;
  });
}

export async function findApiKeyByHash(ctx: SqlContext, hash: string): Promise<KeyRecord | undefined> {
  const [row] = await ctx.templates
    .get('apiKeyByHash', (p) =>
      ctx.db
        .selectFrom('api_keys')
        .leftJoin('projects', 'projects.id', 'api_keys.project_id')
        .selectAll('api_keys')
        .select('projects.archived_at as project_archived_at')
        .where('hash', '=', p<string>('hash')),
    )
    .run(ctx.db, { hash });
  return row && { ...apiKeyFromRow(row), projectArchived: row.project_archived_at !== null };
}

/** The organization's admin keys that work at `now`, locked against a concurrent delete where rows lock. */
function activeAdminKeys(executor: Executor, orgId: string, now: number, lock = false) {
  const select = executor
    .selectFrom('api_keys')
    .select(['id', 'name'])
    .where('org_id', '=', orgId)
    .where('kind', '=', 'admin')
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]));
  return lock ? select.forUpdate() : select;
}

export async function countActiveAdminKeys(ctx: SqlContext, now: number): Promise<number> {
  const row = await ctx.db
    .selectFrom('api_keys')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('kind', '=', 'admin')
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function touchApiKeys(ctx: SqlContext, lastUsed: ReadonlyMap<string, number>): Promise<void> {
  if (lastUsed.size === 0) return;
  // No audit event and no access version: when a key was last used decides nothing.
  await ctx.db.transaction().execute(async (trx) => {
    for (const [id, at] of lastUsed) {
      await trx
        .updateTable('api_keys')
        .set({ last_used_at: at })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
        .execute();
    }
  });
}

const liveAdminKeys = (executor: Executor, orgId: string) =>
  executor
    .selectFrom('api_keys')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('kind', '=', 'admin')
    .where('revoked_at', 'is', null);

export async function listAdminKeys(
  ctx: SqlContext,
  orgId: string,
  query: KeyQuery,
): Promise<Page<ApiKey> | 'unknown_cursor'> {
  let select = liveAdminKeys(ctx.db, orgId);
  if (query.after !== undefined) {
    const cursor = await liveAdminKeys(ctx.db, orgId).where('id', '=', query.after).executeTakeFirst();
    if (!cursor) return 'unknown_cursor';
    select = select.where(keysetAfter(cursor, query.order));
  }
  const rows = await select
    .orderBy('created_at', query.order)
    .orderBy('id', query.order)
    .limit(pageLimit(query.limit))
    .execute();
  return toPage(rows.map(apiKeyFromRow), query.limit);
}

export async function getAdminKey(ctx: SqlContext, orgId: string, id: string): Promise<ApiKey | undefined> {
  const row = await liveAdminKeys(ctx.db, orgId).where('id', '=', id).executeTakeFirst();
  return row && apiKeyFromRow(row);
}

export async function deleteAdminKey(
  ctx: SqlContext,
  orgId: string,
  id: string,
  meta: WriteMeta,
): Promise<'deleted' | 'not_found' | 'last_active_key'> {
  return ctx.write(orgId, meta, async (tx) => {
    // Every active admin key of the organization, locked: two deletes of its last two keys take
    // turns, and the second sees that it would be the last.
    const active = await activeAdminKeys(tx.trx, orgId, meta.now, ctx.traits.rowLocks).execute();
    const key = await liveAdminKeys(tx.trx, orgId).where('id', '=', id).executeTakeFirst();
    if (!key) return 'not_found';
    const isActive = active.some((k) => k.id === id);
    if (isActive && active.length === 1) return 'last_active_key';
    await revokeKey(tx, { id, projectId: null }, meta.now);
    return 'deleted';
  });
}

/**
 * Live keys of a project, for the service-account and project-key routes. Only project keys have a
 * project, so no `kind` condition: with one, SQLite's planner reads the organization's every key.
 */
export const liveProjectKeys = (trx: Executor | Transaction<Database>, orgId: string, projectId: string) =>
  trx
    .selectFrom('api_keys')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('project_id', '=', projectId)
    .where('revoked_at', 'is', null);
