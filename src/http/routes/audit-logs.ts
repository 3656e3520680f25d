import { Type } from '@sinclair/typebox';
import { listAuditEvents } from '../../domain/audit.ts';
import { callerOf } from '../auth.ts';
import { type App, ERROR_RESPONSES, type RouteDeps } from '../deps.ts';
import { ADMIN_KEY } from '../openapi.ts';
import * as A from '../schemas-audit.ts';
import { auditEventToWire, listToWire } from '../wire.ts';

/** CONTRACT §5: the audit log, newest first. Read-only: no route changes or deletes events. */
export function auditLogRoutes(app: App, { store }: RouteDeps): void {
  app.get(
    '/v1/organization/audit_logs',
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'list-audit-logs',
        tags: ['Audit Logs'],
        summary: 'Every change the organization’s keys made, newest first, with OpenAI’s filters and cursors.',
        security: ADMIN_KEY,
        querystring: A.ListAuditLogsQuery,
        response: { 200: Type.Ref(A.ListAuditLogsResponse), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const range = {
        ...(q['effective_at[gt]'] === undefined ? {} : { gt: q['effective_at[gt]'] }),
        ...(q['effective_at[gte]'] === undefined ? {} : { gte: q['effective_at[gte]'] }),
        ...(q['effective_at[lt]'] === undefined ? {} : { lt: q['effective_at[lt]'] }),
        ...(q['effective_at[lte]'] === undefined ? {} : { lte: q['effective_at[lte]'] }),
      };
      const page = await listAuditEvents(store, callerOf(request).orgId, {
        limit: q.limit,
        ...(q.after === undefined ? {} : { after: q.after }),
        ...(q.before === undefined ? {} : { before: q.before }),
        ...(q['event_types[]'] === undefined ? {} : { types: q['event_types[]'] }),
        ...(q['project_ids[]'] === undefined ? {} : { projectIds: q['project_ids[]'] }),
        ...(q['actor_ids[]'] === undefined ? {} : { actorIds: q['actor_ids[]'] }),
        ...(q['resource_ids[]'] === undefined ? {} : { resourceIds: q['resource_ids[]'] }),
        ...(Object.keys(range).length === 0 ? {} : { effectiveAt: range }),
      });
      // Serialised here, not by the response schema: each event's payload is open-ended (keyed by
      // its type), which fast-json-stringify handles field by field, several times slower than
      // JSON.stringify. The objects are built by auditEventToWire, in the schema's shape.
      const body = JSON.stringify(listToWire(page, auditEventToWire));
      return reply.type('application/json; charset=utf-8').send(body as never);
    },
  );
}
