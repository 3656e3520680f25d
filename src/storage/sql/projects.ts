import type { Page, Project, ProjectQuery, WriteMeta } from '../store.ts';
import { pageLimit, type SqlContext, toPage } from './context.ts';
import { projectFromRow, projectToRow } from './rows.ts';

/** Projects: created, renamed and archived, never deleted. */

export async function createProject(ctx: SqlContext, project: Project, meta: WriteMeta): Promise<void> {
  await ctx.write(project.orgId, meta, async (tx) => {
    await tx.trx.insertInto('projects').values(projectToRow(project)).execute();
    tx.event({
      type: 'project.created',
      projectId: project.id,
      resourceId: project.id,
      payload: { id: project.id, data: { name: project.name, title: project.name } },
    });
  });
}

export async function getProject(ctx: SqlContext, orgId: string, id: string): Promise<Project | undefined> {
  const [row] = await ctx.templates
    .get('project', (p) =>
      ctx.db
        .selectFrom('projects')
        .selectAll()
        .where('org_id', '=', p<string>('orgId'))
        .where('id', '=', p<string>('id')),
    )
    .run(ctx.db, { orgId, id });
  return row && projectFromRow(row);
}

export async function listProjects(
  ctx: SqlContext,
  orgId: string,
  query: ProjectQuery,
): Promise<Page<Project> | 'unknown_cursor'> {
  let select = ctx.db.selectFrom('projects').selectAll().where('org_id', '=', orgId);
  if (!query.includeArchived) select = select.where('archived_at', 'is', null);
  if (query.after !== undefined) {
    const cursor = await ctx.db
      .selectFrom('projects')
      .select('seq')
      .where('org_id', '=', orgId)
      .where('id', '=', query.after)
      .executeTakeFirst();
    if (!cursor) return 'unknown_cursor';
    select = select.where('seq', '>', cursor.seq);
  }
  const rows = await select.orderBy('seq', 'asc').limit(pageLimit(query.limit)).execute();
  return toPage(rows.map(projectFromRow), query.limit);
}

export async function updateProject(
  ctx: SqlContext,
  orgId: string,
  id: string,
  patch: { name?: string; externalKeyId?: string | null },
  meta: WriteMeta,
): Promise<Project | undefined> {
  return ctx.write(orgId, meta, async (tx) => {
    const row = await tx.trx
      .selectFrom('projects')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) return undefined;
    const changes: { name?: string; external_key_id?: string | null } = {};
    if (patch.name !== undefined && patch.name !== row.name) changes.name = patch.name;
    if (patch.externalKeyId !== undefined && patch.externalKeyId !== row.external_key_id) {
      changes.external_key_id = patch.externalKeyId;
    }
    // Setting what is already there changes nothing and leaves no event.
    if (Object.keys(changes).length === 0) return projectFromRow(row);
    await tx.trx.updateTable('projects').set(changes).where('id', '=', id).execute();
    tx.event({
      type: 'project.updated',
      projectId: id,
      resourceId: id,
      payload: {
        id,
        changes_requested: {
          ...(changes.name === undefined ? {} : { title: changes.name, name: changes.name }),
          ...(changes.external_key_id === undefined ? {} : { external_key_id: changes.external_key_id }),
        },
      },
    });
    return projectFromRow({ ...row, ...changes });
  });
}

export async function archiveProject(
  ctx: SqlContext,
  orgId: string,
  id: string,
  meta: WriteMeta,
): Promise<Project | undefined> {
  return ctx.write(orgId, meta, async (tx) => {
    const row = await tx.trx
      .selectFrom('projects')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) return undefined;
    if (row.archived_at !== null) return projectFromRow(row);
    // `archived_at is null` again in the UPDATE: a concurrent archive on another replica wins once.
    const updated = await tx.trx
      .updateTable('projects')
      .set({ archived_at: meta.now })
      .where('id', '=', id)
      .where('archived_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (!updated) {
      const current = await tx.trx.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      return projectFromRow(current);
    }
    tx.event({ type: 'project.archived', projectId: id, resourceId: id, payload: { id } });
    return projectFromRow(updated);
  });
}
