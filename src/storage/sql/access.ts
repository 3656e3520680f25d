import { sql } from 'kysely';
import type { Checkpoint, ProjectAccessData } from '../store.ts';
import type { SqlContext } from './context.ts';
import { modelRuleFromRow } from './rows.ts';

type AccessRow = {
  part: 'project' | 'owned' | 'shared' | 'rule';
  name: string | null;
  project_id: string | null;
  created_at: number | null;
  seq: number | null;
  archived_at: number | null;
  mode: 'allow_list' | 'deny_list' | null;
  model_ids: string | null;
};

/**
 * Everything a project's model access depends on — whether it is archived, the checkpoints it
 * owns, those shared with it, its model permissions — in ONE statement: one snapshot (a decision
 * never mixes states from before and after a concurrent write) and one round trip. Each part is an
 * indexed read; the caller (src/domain/access-cache.ts) keeps the answer until the organization
 * changes.
 */
export async function projectAccess(
  ctx: SqlContext,
  orgId: string,
  projectId: string,
): Promise<ProjectAccessData | undefined> {
  const template = ctx.templates.get<AccessRow>('projectAccess', (p) => {
    const org = p<string>('orgId');
    const project = p<string>('projectId');
    // PostgreSQL wants the NULL columns of a UNION typed; SQLite accepts the casts as they are.
    const text = sql.raw('cast(null as text)');
    const int = sql.raw('cast(null as bigint)');
    const query = sql<AccessRow>`
      select 'project' as part, ${text} as name, ${text} as project_id, ${int} as created_at, ${int} as seq,
             archived_at, ${text} as mode, ${text} as model_ids
        from projects where org_id = ${org} and id = ${project}
      union all
      select 'owned', name, project_id, created_at, seq, ${int}, ${text}, ${text}
        from checkpoints where org_id = ${org} and project_id = ${project}
      union all
      select 'shared', c.name, c.project_id, c.created_at, c.seq, ${int}, ${text}, ${text}
        from checkpoint_permissions p
        join checkpoints c on c.org_id = p.org_id and c.name = p.checkpoint
        where p.org_id = ${org} and p.project_id = ${project}
      union all
      select 'rule', ${text}, ${text}, ${int}, ${int}, ${int}, mode, model_ids
        from model_permissions where org_id = ${org} and project_id = ${project}`;
    return { compile: () => query.compile(ctx.db) };
  });
  const rows = await template.run(ctx.db, { orgId, projectId });
  const head = rows.find((row) => row.part === 'project');
  if (!head) return undefined;
  const checkpoints = (part: AccessRow['part']): Checkpoint[] =>
    rows
      .filter((row) => row.part === part)
      .sort((a, b) => Number(a.seq) - Number(b.seq))
      .map((row) => ({
        orgId,
        name: row.name as string,
        projectId: row.project_id as string,
        createdAt: Number(row.created_at),
      }));
  const rule = rows.find((row) => row.part === 'rule');
  return {
    archived: head.archived_at !== null,
    owned: checkpoints('owned'),
    shared: checkpoints('shared'),
    rule: rule ? modelRuleFromRow({ mode: rule.mode ?? 'deny_list', model_ids: rule.model_ids ?? '[]' }) : null,
  };
}
