import type {
  ApiKey,
  Page,
  ServiceAccount,
  ServiceAccountOutcome,
  ServiceAccountQuery,
  ServiceAccountRole,
  WriteMeta,
} from '../store.ts';
import { type Executor, keysetAfter, pageLimit, type SqlContext, toPage, type WriteTx } from './context.ts';
import { insertKey, liveProjectKeys, revokeKey } from './keys.ts';
import { apiKeyFromRow, serviceAccountFromRow } from './rows.ts';

/**
 * Service accounts and the project API keys that belong to them. Both are deleted softly (the
 * rows stay, marked), so a deleted key's hash stays taken and the audit log can name them.
 */

const liveAccounts = (executor: Executor, orgId: string, projectId: string) =>
  executor
    .selectFrom('service_accounts')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('project_id', '=', projectId)
    .where('deleted_at', 'is', null);

/** The project, share-locked for the transaction; what a refusal would be, or null to go on. */
async function projectOutcome(
  ctx: SqlContext,
  tx: WriteTx,
  orgId: string,
  projectId: string,
  mustBeActive: boolean,
): Promise<'project_not_found' | 'project_archived' | null> {
  const [project] = await ctx.lockedProjects(tx.trx, orgId, [projectId]);
  if (!project) return 'project_not_found';
  if (mustBeActive && project.archived_at !== null) return 'project_archived';
  return null;
}

export async function createServiceAccount(
  ctx: SqlContext,
  account: ServiceAccount,
  key: ApiKey | null,
  meta: WriteMeta,
): Promise<ServiceAccountOutcome<'created'>> {
  return ctx.write(account.orgId, meta, async (tx) => {
    const refusal = await projectOutcome(ctx, tx, account.orgId, account.projectId, true);
    if (refusal) return refusal;
    await tx.trx
      .insertInto('service_accounts')
      .values({
        id: account.id,
        org_id: account.orgId,
        project_id: account.projectId,
        name: account.name,
        created_at: account.createdAt,
        role: account.role,
        deleted_at: null,
      })
      .execute();
    tx.event({
      type: 'service_account.created',
      projectId: account.projectId,
      resourceId: account.id,
      payload: { id: account.id, data: { role: account.role } },
    });
    if (key) await insertKey(tx, key, []);
    return 'created';
  });
}

export async function listServiceAccounts(
  ctx: SqlContext,
  orgId: string,
  projectId: string,
  query: ServiceAccountQuery,
): Promise<Page<ServiceAccount> | 'unknown_cursor' | 'project_not_found'> {
  if (!(await projectExists(ctx.db, orgId, projectId))) return 'project_not_found';
  let select = liveAccounts(ctx.db, orgId, projectId);
  if (query.after !== undefined) {
    const cursor = await liveAccounts(ctx.db, orgId, projectId).where('id', '=', query.after).executeTakeFirst();
    if (!cursor) return 'unknown_cursor';
    select = select.where(keysetAfter(cursor, 'asc'));
  }
  const rows = await select.orderBy('created_at').orderBy('id').limit(pageLimit(query.limit)).execute();
  return toPage(rows.map(serviceAccountFromRow), query.limit);
}

export async function getServiceAccount(
  ctx: SqlContext,
  orgId: string,
  projectId: string,
  id: string,
): Promise<ServiceAccount | undefined> {
  const row = await liveAccounts(ctx.db, orgId, projectId).where('id', '=', id).executeTakeFirst();
  return row && serviceAccountFromRow(row);
}

export async function updateServiceAccount(
  ctx: SqlContext,
  orgId: string,
  projectId: string,
  id: string,
  patch: { name?: string; role?: ServiceAccountRole },
  meta: WriteMeta,
): Promise<ServiceAccountOutcome<ServiceAccount>> {
  return ctx.write(orgId, meta, async (tx) => {
    const refusal = await projectOutcome(ctx, tx, orgId, projectId, true);
    if (refusal) return refusal;
    const row = await liveAccounts(tx.trx, orgId, projectId).where('id', '=', id).executeTakeFirst();
    if (!row) return 'not_found';
    const changes: { name?: string; role?: ServiceAccountRole } = {};
    if (patch.name !== undefined && patch.name !== row.name) changes.name = patch.name;
    if (patch.role !== undefined && patch.role !== row.role) changes.role = patch.role;
    if (Object.keys(changes).length === 0) return serviceAccountFromRow(row);
    await tx.trx.updateTable('service_accounts').set(changes).where('id', '=', id).execute();
    tx.event({
      type: 'service_account.updated',
      projectId,
      resourceId: id,
      payload: { id, changes_requested: changes },
    });
    return serviceAccountFromRow({ ...row, ...changes });
  });
}

export async function deleteServiceAccount(
  ctx: SqlContext,
  orgId: string,
  projectId: string,
  id: string,
  meta: WriteMeta,
): Promise<ServiceAccountOutcome<'deleted'>> {
  return ctx.write(orgId, meta, async (tx) => {
    const refusal = await projectOutcome(ctx, tx, orgId, projectId, false);
    if (refusal) return refusal;
    // Locked before its keys are read: a key being added to it (which share-locks the account)
    // commits first and is deleted below, or waits and then finds the account gone.
    let lookup = liveAccounts(tx.trx, orgId, projectId).where('id', '=', id);
    if (ctx.traits.rowLocks) lookup = lookup.forUpdate();
    const row = await lookup.executeTakeFirst();
    if (!row) return 'not_found';
    // Its keys die with it, each with its own event, before the account's own.
    const keys = await liveProjectKeys(tx.trx, orgId, projectId)
      .where('service_account_id', '=', id)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    for (const key of keys) await revokeKey(tx, { id: key.id, projectId }, meta.now);
    await tx.trx.updateTable('service_accounts').set({ deleted_at: meta.now }).where('id', '=', id).execute();
    tx.event({ type: 'service_account.deleted', projectId, resourceId: id, payload: { id } });
    return 'deleted';
  });
}

export async function addServiceAccountKey(
  ctx: SqlContext,
  key: ApiKey & { serviceAccountId: string; projectId: string },
  scopes: readonly string[],
  meta: WriteMeta,
): Promise<ServiceAccountOutcome<'created'>> {
  return ctx.write(key.orgId, meta, async (tx) => {
    const refusal = await projectOutcome(ctx, tx, key.orgId, key.projectId, true);
    if (refusal) return refusal;
    // Share-locked until the key is committed: a concurrent delete of the account waits for it
    // (and deletes it too), or, if it came first, leaves nothing here to find.
    let lookup = liveAccounts(tx.trx, key.orgId, key.projectId).where('id', '=', key.serviceAccountId);
    if (ctx.traits.rowLocks) lookup = lookup.forShare();
    const account = await lookup.executeTakeFirst();
    if (!account) return 'not_found';
    await insertKey(tx, key, scopes);
    return 'created';
  });
}

type KeyWithOwner = ApiKey & { owner: ServiceAccount | null };

async function withOwners(executor: Executor, keys: ApiKey[]): Promise<KeyWithOwner[]> {
  const ids = [...new Set(keys.flatMap((k) => (k.serviceAccountId ? [k.serviceAccountId] : [])))];
  const owners =
    ids.length === 0 ? [] : await executor.selectFrom('service_accounts').selectAll().where('id', 'in', ids).execute();
  const byId = new Map(owners.map((row) => [row.id, serviceAccountFromRow(row)]));
  return keys.map((key) => ({ ...key, owner: (key.serviceAccountId && byId.get(key.serviceAccountId)) || null }));
}

export async function listProjectKeys(
  ctx: SqlContext,
  orgId: string,
  projectId: string,
  query: ServiceAccountQuery,
): Promise<Page<KeyWithOwner> | 'unknown_cursor' | 'project_not_found'> {
  if (!(await projectExists(ctx.db, orgId, projectId))) return 'project_not_found';
  let select = liveProjectKeys(ctx.db, orgId, projectId);
  if (query.after !== undefined) {
    const cursor = await liveProjectKeys(ctx.db, orgId, projectId).where('id', '=', query.after).executeTakeFirst();
    if (!cursor) return 'unknown_cursor';
    select = select.where(keysetAfter(cursor, 'asc'));
  }
  const rows = await select.orderBy('created_at').orderBy('id').limit(pageLimit(query.limit)).execute();
  const page = toPage(rows.map(apiKeyFromRow), query.limit);
  return { items: await withOwners(ctx.db, page.items), hasMore: page.hasMore };
}

export async function getProjectKey(
  ctx: SqlContext,
  orgId: string,
  projectId: string,
  id: string,
): Promise<KeyWithOwner | undefined> {
  const row = await liveProjectKeys(ctx.db, orgId, projectId).where('id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  const [key] = await withOwners(ctx.db, [apiKeyFromRow(row)]);
  return key;
}

export async function updateProjectKey(
  ctx: SqlContext,
  orgId: string,
  projectId: string,
  id: string,
  patch: { expiresAt?: number | null; scopes?: readonly string[] },
  meta: WriteMeta,
): Promise<KeyWithOwner | undefined> {
  return ctx.write(orgId, meta, async (tx) => {
    const row = await liveProjectKeys(tx.trx, orgId, projectId).where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const changes: { expires_at?: number | null; scopes?: readonly string[] } = {};
    if (patch.expiresAt !== undefined && patch.expiresAt !== row.expires_at) {
      changes.expires_at = patch.expiresAt;
      await tx.trx.updateTable('api_keys').set({ expires_at: patch.expiresAt }).where('id', '=', id).execute();
    }
    // Scopes are not enforced, so not stored; asking for them is a change the audit log records.
    if (patch.scopes !== undefined) changes.scopes = patch.scopes;
    if (Object.keys(changes).length > 0) {
      tx.event({ type: 'api_key.updated', projectId, resourceId: id, payload: { id, changes_requested: changes } });
    }
    // `in`, not `??`: a cleared expiry (null) is a change too.
    const expiresAt = 'expires_at' in changes ? (changes.expires_at ?? null) : row.expires_at;
    const [key] = await withOwners(tx.trx, [apiKeyFromRow({ ...row, expires_at: expiresAt })]);
    return key;
  });
}

export async function deleteProjectKey(
  ctx: SqlContext,
  orgId: string,
  projectId: string,
  id: string,
  meta: WriteMeta,
): Promise<boolean> {
  return ctx.write(orgId, meta, async (tx) => {
    const row = await liveProjectKeys(tx.trx, orgId, projectId).where('id', '=', id).executeTakeFirst();
    if (!row) return false;
    await revokeKey(tx, { id, projectId }, meta.now);
    return true;
  });
}

export async function projectExists(executor: Executor, orgId: string, projectId: string): Promise<boolean> {
  const row = await executor
    .selectFrom('projects')
    .select('id')
    .where('org_id', '=', orgId)
    .where('id', '=', projectId)
    .executeTakeFirst();
  return row !== undefined;
}
