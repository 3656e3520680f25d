import { Type } from '@sinclair/typebox';
import { IdString, LIMITS, ListOf, Nullable } from './schemas.ts';

/** The audit log, after OpenAI's `AuditLog` (the payload sits under a key named after the event's type). */

const Filter = (description: string) =>
  Type.Array(Type.String({ minLength: 1, maxLength: LIMITS.checkpointName }), { maxItems: 100, description });

const Seconds = Type.Integer({ minimum: 0, maximum: 2 ** 53 - 1 });

/**
 * The query as OpenAI's SDKs send it: arrays as `name[]=a&name[]=b`, the time range as
 * `effective_at[gt]=…`. `actor_emails[]` and `tenant_only` are accepted and ignored (ftshare has
 * no users with emails and no tenant-scoped events).
 */
export const ListAuditLogsQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: LIMITS.pageSize, default: 20 }),
  after: Type.Optional(IdString('An event id: the page holds the events before it (older).')),
  before: Type.Optional(IdString('An event id: the page holds the events after it (newer).')),
  'event_types[]': Type.Optional(Filter('Event types (OpenAI’s older `checkpoint_permission.*` spelling too).')),
  'project_ids[]': Type.Optional(Filter('Projects the events concern.')),
  'actor_ids[]': Type.Optional(Filter('Ids of the API keys that made the changes.')),
  'resource_ids[]': Type.Optional(Filter('Ids of the changed objects (a permission, project, key, checkpoint, …).')),
  'actor_emails[]': Type.Optional(Filter('Accepted and ignored: ftshare keys belong to no user with an email.')),
  'effective_at[gt]': Type.Optional(Seconds),
  'effective_at[gte]': Type.Optional(Seconds),
  'effective_at[lt]': Type.Optional(Seconds),
  'effective_at[lte]': Type.Optional(Seconds),
  tenant_only: Type.Optional(Type.Boolean({ description: 'Accepted and ignored.' })),
});

export const AuditLog = Type.Object(
  {
    id: Type.String(),
    type: Type.String(),
    effective_at: Type.Integer(),
    project: Type.Optional(Type.Object({ id: Type.String(), name: Nullable(Type.String()) })),
    actor: Nullable(
      Type.Object({
        type: Type.Literal('api_key'),
        api_key: Type.Object({
          id: Type.String(),
          type: Type.Union([Type.Literal('user'), Type.Literal('service_account')]),
          user: Type.Optional(Type.Object({ id: Type.String() })),
          service_account: Type.Optional(Type.Object({ id: Type.String() })),
        }),
      }),
    ),
  },
  // The payload's key is the event's type: open-ended by design.
  { $id: 'AuditLog', additionalProperties: true },
);

export const ListAuditLogsResponse = ListOf(Type.Ref(AuditLog), 'ListAuditLogsResponse');

export const AUDIT_SCHEMAS = [AuditLog, ListAuditLogsResponse] as const;
