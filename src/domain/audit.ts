import { badRequest } from '../errors.ts';
import type { AuditEvent, AuditQuery, Page, Store } from '../storage/store.ts';

/**
 * Reading the audit log. Events are written by the store, in the transaction of the change they
 * describe (src/storage/sql/context.ts); nothing changes or deletes them through the API.
 */

/** OpenAI's older spelling of the checkpoint permission events, still accepted in filters. */
const ALIASES: Record<string, string> = {
  'checkpoint_permission.created': 'checkpoint.permission.created',
  'checkpoint_permission.deleted': 'checkpoint.permission.deleted',
};

export const normalizeEventTypes = (types: readonly string[]) => [...new Set(types.map((t) => ALIASES[t] ?? t))];

export async function listAuditEvents(store: Store, orgId: string, query: AuditQuery): Promise<Page<AuditEvent>> {
  if (query.after !== undefined && query.before !== undefined) {
    throw badRequest('Give `after` or `before`, not both.', 'before');
  }
  const page = await store.listAuditEvents(orgId, {
    ...query,
    ...(query.types ? { types: normalizeEventTypes(query.types) } : {}),
  });
  if (page === 'unknown_cursor') {
    const param = query.after !== undefined ? 'after' : 'before';
    throw badRequest(
      `\`${param}\` must be the id of an audit event of this list; \`${query.after ?? query.before}\` is not.`,
      param,
    );
  }
  return page;
}
