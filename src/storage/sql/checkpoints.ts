import type { Checkpoint, CheckpointQuery, Page, RegisterResult, WriteMeta } from '../store.ts';
import { type Executor, pageLimit, type SqlContext, toPage } from './context.ts';
import { checkpointFromRow, checkpointToRow } from './rows.ts';

/** The checkpoint registry: what permissions attach to, and what a project may own. */

export async function registerCheckpoint(
  ctx: SqlContext,
  checkpoint: Checkpoint,
  meta: WriteMeta,
): Promise<RegisterResult> {
  return ctx.write(checkpoint.orgId, meta, async (tx) => {
    // Registering again with the same owner returns it (CONTRACT §6), even once that owner is
    // archived: nothing new is owned.
    const existing = await findCheckpoint(ctx, tx.trx, checkpoint.orgId, checkpoint.name);
    if (existing?.projectId === checkpoint.projectId) return { kind: 'registered', checkpoint: existing };
    if (existing) return { kind: 'owned_by_other_project', checkpoint: existing };
    const [project] = await ctx.lockedProjects(tx.trx, checkpoint.orgId, [checkpoint.projectId]);
    if (!project) return { kind: 'project_not_found' };
    if (project.archived_at !== null) return { kind: 'project_archived' };
    const inserted = await tx.trx
      .insertInto('checkpoints')
      .values(checkpointToRow(checkpoint))
      .onConflict((oc) => oc.columns(['org_id', 'name']).doNothing())
      .executeTakeFirst();
    const stored = await findCheckpoint(ctx, tx.trx, checkpoint.orgId, checkpoint.name);
    if (!stored) throw new Error(`checkpoint ${checkpoint.name} vanished inside its own transaction`);
    if (stored.projectId !== checkpoint.projectId) return { kind: 'owned_by_other_project', checkpoint: stored };
    // Another replica may have registered the same name and owner a moment before: no new event then.
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) {
      tx.event({
        type: 'checkpoint.registered',
        projectId: checkpoint.projectId,
        resourceId: checkpoint.name,
        payload: { id: checkpoint.name, data: { project_id: checkpoint.projectId } },
      });
    }
    return { kind: 'registered', checkpoint: stored };
  });
}

/** One checkpoint by name, on the store or inside a transaction. */
export async function findCheckpoint(
  ctx: SqlContext,
  executor: Executor,
  orgId: string,
  name: string,
): Promise<Checkpoint | undefined> {
  const [row] = await ctx.templates
    .get('checkpoint', (p) =>
      ctx.db
        .selectFrom('checkpoints')
        .selectAll()
        .where('org_id', '=', p<string>('orgId'))
        .where('name', '=', p<string>('name')),
    )
    .run(executor, { orgId, name });
  return row && checkpointFromRow(row);
}

export async function existingCheckpoints(
  ctx: SqlContext,
  orgId: string,
  names: readonly string[],
): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < names.length; i += 500) {
    const rows = await ctx.db
      .selectFrom('checkpoints')
      .select('name')
      .where('org_id', '=', orgId)
      .where('name', 'in', names.slice(i, i + 500))
      .execute();
    for (const row of rows) found.add(row.name);
  }
  return found;
}

export async function listCheckpoints(
  ctx: SqlContext,
  orgId: string,
  query: CheckpointQuery,
): Promise<Page<Checkpoint> | 'unknown_cursor'> {
  let select = ctx.db.selectFrom('checkpoints').selectAll().where('org_id', '=', orgId);
  if (query.projectId !== undefined) select = select.where('project_id', '=', query.projectId);
  if (query.after !== undefined) {
    let cursor = ctx.db
      .selectFrom('checkpoints')
      .select('seq')
      .where('org_id', '=', orgId)
      .where('name', '=', query.after);
    if (query.projectId !== undefined) cursor = cursor.where('project_id', '=', query.projectId);
    const found = await cursor.executeTakeFirst();
    if (!found) return 'unknown_cursor';
    select = select.where('seq', '>', found.seq);
  }
  const rows = await select.orderBy('seq', 'asc').limit(pageLimit(query.limit)).execute();
  return toPage(rows.map(checkpointFromRow), query.limit);
}

export async function allCheckpoints(ctx: SqlContext, orgId: string): Promise<Checkpoint[]> {
  const rows = await ctx.db.selectFrom('checkpoints').selectAll().where('org_id', '=', orgId).orderBy('seq').execute();
  return rows.map(checkpointFromRow);
}

export async function deleteCheckpoint(
  ctx: SqlContext,
  orgId: string,
  name: string,
  meta: WriteMeta,
): Promise<boolean> {
  return ctx.write(orgId, meta, async (tx) => {
    // Lock the checkpoint before its permissions, in the order a grant takes them: deleting
    // permissions first deadlocks against a grant that holds the checkpoint and re-inserts one.
    let lookup = tx.trx.selectFrom('checkpoints').selectAll().where('org_id', '=', orgId).where('name', '=', name);
    if (ctx.traits.rowLocks) lookup = lookup.forUpdate();
    const checkpoint = await lookup.executeTakeFirst();
    if (!checkpoint) return false;
    const removed = await tx.trx
      .deleteFrom('checkpoint_permissions')
      .where('org_id', '=', orgId)
      .where('checkpoint', '=', name)
      .returning(['id', 'project_id', 'seq'])
      .execute();
    // One event per permission removed, in the order they were granted, then the checkpoint's own:
    // each project's history says it lost access without knowing why.
    removed.sort((a, b) => Number(a.seq) - Number(b.seq));
    for (const permission of removed) {
      tx.event({
        type: 'checkpoint.permission.deleted',
        projectId: permission.project_id,
        resourceId: permission.id,
        payload: { id: permission.id, data: { project_id: permission.project_id, fine_tuned_model_checkpoint: name } },
      });
    }
    await tx.trx.deleteFrom('checkpoints').where('org_id', '=', orgId).where('name', '=', name).execute();
    tx.event({ type: 'checkpoint.deleted', projectId: checkpoint.project_id, resourceId: name, payload: { id: name } });
    return true;
  });
}
