import type { BulkRecords } from '../store.ts';
import { chunks, type SqlContext } from './context.ts';
import { auditEventToRow, checkpointToRow, permissionToRow, projectToRow } from './rows.ts';

/**
 * Records inserted exactly as given, in one transaction: projects, checkpoints, permissions (numbered
 * in array order), audit events. No checks beyond the schema's, no events of its own: for seeding.
 */
export async function bulkInsert(ctx: SqlContext, records: BulkRecords): Promise<void> {
  await ctx.db.transaction().execute(async (trx) => {
    for (const chunk of chunks(records.projects ?? [])) {
      await trx.insertInto('projects').values(chunk.map(projectToRow)).execute();
    }
    for (const chunk of chunks(records.checkpoints ?? [])) {
      await trx.insertInto('checkpoints').values(chunk.map(checkpointToRow)).execute();
    }
    for (const chunk of chunks(records.permissions ?? [])) {
      await trx.insertInto('checkpoint_permissions').values(chunk.map(permissionToRow)).execute();
    }
    for (const chunk of chunks(records.auditEvents ?? [], 400)) {
      await trx.insertInto('audit_events').values(chunk.map(auditEventToRow)).execute();
    }
  });
}
