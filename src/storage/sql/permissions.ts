import type { GrantRefusal, GrantRequest, Page, Permission, PermissionQuery, WriteMeta } from '../store.ts';
import { pageLimit, type SqlContext, toPage } from './context.ts';
import { permissionFromRow } from './rows.ts';
import type { Placeholder } from './templates.ts';

/** Checkpoint permissions: grant (all or nothing), list (keyset pages), revoke. */

export async function grantPermissions(ctx: SqlContext, request: GrantRequest): Promise<Permission[] | GrantRefusal> {
  const { orgId, checkpoint, projectIds } = request;
  // The events' time is the grant's own, known only once the checkpoint is locked (below); `write`
  // reads `meta.now` when it inserts them, after this callback.
  const meta: WriteMeta = { actor: request.actor, now: 0 };
  return ctx.write(orgId, meta, async (tx) => {
    const { trx } = tx;
    const checkpointRow = ctx.templates.get('grantCheckpoint', (p) => {
      const select = trx
        .selectFrom('checkpoints')
        .select('name')
        .where('org_id', '=', p<string>('orgId'))
        .where('name', '=', p<string>('checkpoint'));
      // FOR NO KEY UPDATE, not FOR SHARE: grants of one checkpoint take turns. Run side by side,
      // two grants of overlapping projects in different orders deadlock on the unique index.
      return ctx.traits.rowLocks ? select.forNoKeyUpdate() : select;
    });
    if ((await checkpointRow.run(trx, { orgId, checkpoint })).length === 0) return { kind: 'checkpoint_not_found' };

    const projects = new Map((await ctx.lockedProjects(trx, orgId, projectIds)).map((p) => [p.id, p.archived_at]));
    for (const projectId of projectIds) {
      const archivedAt = projects.get(projectId);
      if (archivedAt === undefined) return { kind: 'project_not_found', projectId };
      if (archivedAt !== null) return { kind: 'project_archived', projectId };
    }

    // One statement, rows in request order: the database numbers them (seq) in that order, which
    // is what makes "created by one request" list in request order. Existing grants are kept.
    const n = projectIds.length;
    const now = request.now();
    meta.now = now;
    const values: Record<string, unknown> = { orgId, checkpoint, now };
    const minted = new Set<string>();
    projectIds.forEach((projectId, i) => {
      const id = request.newPermissionId();
      minted.add(id);
      values[`id${i}`] = id;
      values[`project${i}`] = projectId;
    });
    await ctx.templates
      .get(`grantInsert:${n}`, (p) =>
        trx
          .insertInto('checkpoint_permissions')
          .values(
            Array.from({ length: n }, (_, i) => ({
              id: p<string>(`id${i}`),
              org_id: p<string>('orgId'),
              checkpoint: p<string>('checkpoint'),
              project_id: p<string>(`project${i}`),
              created_at: p<number>('now'),
            })),
          )
          .onConflict((oc) => oc.columns(['org_id', 'checkpoint', 'project_id']).doNothing()),
      )
      .run(trx, values);

    const rows = await ctx.templates
      .get(`grantRows:${n}`, (p) =>
        trx
          .selectFrom('checkpoint_permissions')
          .selectAll()
          .where('org_id', '=', p<string>('orgId'))
          .where('checkpoint', '=', p<string>('checkpoint'))
          .where(
            'project_id',
            'in',
            Array.from({ length: n }, (_, i) => p<string>(`project${i}`)),
          ),
      )
      .run(trx, values);
    const byProject = new Map(rows.map((row) => [row.project_id, permissionFromRow(row)]));
    return projectIds.map((projectId) => {
      const permission = byProject.get(projectId);
      if (!permission) throw new Error(`grant of ${projectId} vanished inside its own transaction`);
      // A permission carrying an id minted here is new; any other existed already (no event).
      if (minted.has(permission.id)) {
        tx.event({
          type: 'checkpoint.permission.created',
          projectId,
          resourceId: permission.id,
          payload: { id: permission.id, data: { project_id: projectId, fine_tuned_model_checkpoint: checkpoint } },
        });
      }
      return permission;
    });
  });
}

/** The `seq` of the permission `after` names, within the listed checkpoint (and project). */
function permissionCursor(ctx: SqlContext, p: Placeholder, byProject: boolean) {
  const cursor = ctx.db
    .selectFrom('checkpoint_permissions as cursor')
    .select('cursor.seq')
    .where('cursor.org_id', '=', p<string>('orgId'))
    .where('cursor.checkpoint', '=', p<string>('checkpoint'))
    .where('cursor.id', '=', p<string>('after'));
  return byProject ? cursor.where('cursor.project_id', '=', p<string>('projectId')) : cursor;
}

export async function listPermissions(
  ctx: SqlContext,
  orgId: string,
  checkpoint: string,
  query: PermissionQuery,
): Promise<Page<Permission> | 'unknown_cursor'> {
  const descending = query.order === 'descending';
  const byProject = query.projectId !== undefined;
  const values: Record<string, unknown> = { orgId, checkpoint, projectId: query.projectId, after: query.after };
  const after = query.after !== undefined;
  const rows = await ctx.templates
    .get(`permissionPage:${descending}:${byProject}:${after}:${query.limit}`, (p) => {
      let select = ctx.db
        .selectFrom('checkpoint_permissions')
        .select(['id', 'project_id', 'created_at'])
        .where('org_id', '=', p<string>('orgId'))
        .where('checkpoint', '=', p<string>('checkpoint'));
      if (byProject) select = select.where('project_id', '=', p<string>('projectId'));
      // The cursor's position is looked up inside the page's own statement: one round trip to
      // PostgreSQL, not two. An unknown cursor gives NULL, so an empty page (told apart below).
      if (after) select = select.where('seq', descending ? '<' : '>', permissionCursor(ctx, p, byProject));
      return select.orderBy('seq', descending ? 'desc' : 'asc').limit(pageLimit(query.limit));
    })
    .run(ctx.db, values);
  if (after && rows.length === 0) {
    const cursor = ctx.templates.get(`permissionCursor:${byProject}`, (p) => permissionCursor(ctx, p, byProject));
    if ((await cursor.run(ctx.db, values)).length === 0) return 'unknown_cursor';
  }
  // org_id and checkpoint are the query's own: not read back, one string conversion less per column.
  const items = rows.map((row) => ({
    id: row.id,
    orgId,
    checkpoint,
    projectId: row.project_id,
    createdAt: Number(row.created_at),
  }));
  return toPage(items, query.limit);
}

export async function revokePermission(
  ctx: SqlContext,
  orgId: string,
  checkpoint: string,
  permissionId: string,
  meta: WriteMeta,
): Promise<Permission | undefined> {
  return ctx.write(orgId, meta, async (tx) => {
    const [row] = await ctx.templates
      .get('revokePermission', (p) =>
        tx.trx
          .deleteFrom('checkpoint_permissions')
          .where('org_id', '=', p<string>('orgId'))
          .where('checkpoint', '=', p<string>('checkpoint'))
          .where('id', '=', p<string>('permissionId'))
          .returningAll(),
      )
      .run(tx.trx, { orgId, checkpoint, permissionId });
    if (!row) return undefined;
    tx.event({
      type: 'checkpoint.permission.deleted',
      projectId: row.project_id,
      resourceId: row.id,
      payload: { id: row.id, data: { project_id: row.project_id, fine_tuned_model_checkpoint: checkpoint } },
    });
    return permissionFromRow(row);
  });
}
