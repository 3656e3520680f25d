import type { Insertable, Selectable } from 'kysely';
import type { Database } from '../schema.ts';
import type {
  Actor,
  ApiKey,
  AuditEvent,
  Checkpoint,
  ModelRule,
  Permission,
  Project,
  ServiceAccount,
} from '../store.ts';

/** The one place rows and domain records turn into each other (and so the one place column names are spelled). */

export const projectFromRow = (row: Selectable<Database['projects']>): Project => ({
  id: row.id,
  orgId: row.org_id,
  name: row.name,
  externalKeyId: row.external_key_id,
  createdAt: Number(row.created_at),
  archivedAt: nullableNumber(row.archived_at),
});

export const apiKeyFromRow = (row: Selectable<Database['api_keys']>): ApiKey => ({
  id: row.id,
  orgId: row.org_id,
  projectId: row.project_id,
  kind: row.kind,
  name: row.name,
  hash: row.hash,
  redacted: row.redacted,
  createdAt: Number(row.created_at),
  revokedAt: nullableNumber(row.revoked_at),
  serviceAccountId: row.service_account_id,
  expiresAt: nullableNumber(row.expires_at),
  lastUsedAt: nullableNumber(row.last_used_at),
});

export const serviceAccountFromRow = (row: Selectable<Database['service_accounts']>): ServiceAccount => ({
  id: row.id,
  orgId: row.org_id,
  projectId: row.project_id,
  name: row.name,
  createdAt: Number(row.created_at),
  role: row.role,
});

export const modelRuleFromRow = (
  row: Pick<Selectable<Database['model_permissions']>, 'mode' | 'model_ids'>,
): ModelRule => ({
  mode: row.mode,
  modelIds: JSON.parse(row.model_ids) as string[],
});

export const auditEventFromRow = (
  row: Selectable<Database['audit_events']> & { project_name: string | null },
): AuditEvent => ({
  id: row.id,
  orgId: row.org_id,
  type: row.type as AuditEvent['type'],
  effectiveAt: Number(row.effective_at),
  projectId: row.project_id,
  projectName: row.project_name,
  actor: row.actor === null ? null : (JSON.parse(row.actor) as Actor),
  resourceId: row.resource_id,
  payload: JSON.parse(row.payload) as Record<string, unknown>,
});

export const auditEventToRow = (event: AuditEvent): Insertable<Database['audit_events']> => ({
  id: event.id,
  org_id: event.orgId,
  type: event.type,
  effective_at: event.effectiveAt,
  project_id: event.projectId,
  actor_id: event.actor?.keyId ?? null,
  resource_id: event.resourceId,
  actor: event.actor === null ? null : JSON.stringify(event.actor),
  payload: JSON.stringify(event.payload),
});

const nullableNumber = (value: number | null) => (value === null ? null : Number(value));

export const checkpointFromRow = (row: Selectable<Database['checkpoints']>): Checkpoint => ({
  orgId: row.org_id,
  name: row.name,
  projectId: row.project_id,
  createdAt: Number(row.created_at),
});

export const permissionFromRow = (row: Selectable<Database['checkpoint_permissions']>): Permission => ({
  id: row.id,
  orgId: row.org_id,
  checkpoint: row.checkpoint,
  projectId: row.project_id,
  createdAt: Number(row.created_at),
});

export const apiKeyToRow = (key: ApiKey): Insertable<Database['api_keys']> => ({
  id: key.id,
  org_id: key.orgId,
  project_id: key.projectId,
  kind: key.kind,
  name: key.name,
  hash: key.hash,
  redacted: key.redacted,
  created_at: key.createdAt,
  revoked_at: key.revokedAt,
  service_account_id: key.serviceAccountId,
  expires_at: key.expiresAt,
  last_used_at: key.lastUsedAt,
});

export const projectToRow = (p: Project): Insertable<Database['projects']> => ({
  id: p.id,
  org_id: p.orgId,
  name: p.name,
  external_key_id: p.externalKeyId,
  created_at: p.createdAt,
  archived_at: p.archivedAt,
});

export const checkpointToRow = (c: Checkpoint): Insertable<Database['checkpoints']> => ({
  org_id: c.orgId,
  name: c.name,
  project_id: c.projectId,
  created_at: c.createdAt,
});

export const permissionToRow = (p: Permission): Insertable<Database['checkpoint_permissions']> => ({
  id: p.id,
  org_id: p.orgId,
  checkpoint: p.checkpoint,
  project_id: p.projectId,
  created_at: p.createdAt,
});
