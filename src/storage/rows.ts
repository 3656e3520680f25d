import type { Insertable, Selectable } from 'kysely';
import type { Database } from './schema.ts';
import type { ApiKey, Checkpoint, Permission, Project } from './store.ts';

/** The one place rows become domain records (and so the one place column names are spelled). */

export const projectFromRow = (row: Selectable<Database['projects']>): Project => ({
  id: row.id,
  orgId: row.org_id,
  name: row.name,
  externalKeyId: row.external_key_id,
  createdAt: Number(row.created_at),
  archivedAt: row.archived_at === null ? null : Number(row.archived_at),
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
  revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
});

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
});
