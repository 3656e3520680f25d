import type { ModelRule, WriteMeta } from '../store.ts';
import type { Executor, SqlContext } from './context.ts';
import { modelRuleFromRow } from './rows.ts';
import { projectExists } from './service-accounts.ts';

/** A project's model permissions: one row per project that has any, replaced whole. */

async function ruleRow(executor: Executor, orgId: string, projectId: string) {
  return executor
    .selectFrom('model_permissions')
    .select(['mode', 'model_ids'])
    .where('org_id', '=', orgId)
    .where('project_id', '=', projectId)
    .executeTakeFirst();
}

export async function getModelRule(
  ctx: SqlContext,
  orgId: string,
  projectId: string,
): Promise<ModelRule | null | 'project_not_found'> {
  if (!(await projectExists(ctx.db, orgId, projectId))) return 'project_not_found';
  const row = await ruleRow(ctx.db, orgId, projectId);
  return row ? modelRuleFromRow(row) : null;
}

export async function setModelRule(
  ctx: SqlContext,
  orgId: string,
  projectId: string,
  rule: ModelRule,
  meta: WriteMeta,
): Promise<boolean> {
  return ctx.write(orgId, meta, async (tx) => {
    const [project] = await ctx.lockedProjects(tx.trx, orgId, [projectId]);
    if (!project) return false;
    const modelIds = JSON.stringify(rule.modelIds);
    const existing = await ruleRow(tx.trx, orgId, projectId);
    // The same rule again changes nothing and leaves no event.
    if (existing && existing.mode === rule.mode && existing.model_ids === modelIds) return true;
    await tx.trx
      .insertInto('model_permissions')
      .values({ project_id: projectId, org_id: orgId, mode: rule.mode, model_ids: modelIds, updated_at: meta.now })
      .onConflict((oc) =>
        oc.column('project_id').doUpdateSet({ mode: rule.mode, model_ids: modelIds, updated_at: meta.now }),
      )
      .execute();
    tx.event({
      type: 'model_permissions.updated',
      projectId,
      resourceId: projectId,
      payload: { id: projectId, data: { mode: rule.mode, model_ids: rule.modelIds } },
    });
    return true;
  });
}

export async function deleteModelRule(
  ctx: SqlContext,
  orgId: string,
  projectId: string,
  meta: WriteMeta,
): Promise<boolean> {
  return ctx.write(orgId, meta, async (tx) => {
    const [project] = await ctx.lockedProjects(tx.trx, orgId, [projectId]);
    if (!project) return false;
    const deleted = await tx.trx
      .deleteFrom('model_permissions')
      .where('org_id', '=', orgId)
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    if (Number(deleted.numDeletedRows) > 0) {
      tx.event({ type: 'model_permissions.deleted', projectId, resourceId: projectId, payload: { id: projectId } });
    }
    return true;
  });
}
