import type { Insertable, Selectable } from 'kysely';
import type { Database } from './schema.ts';
import type { ApiKey, Checkpoint, Permission, Project } from './store.ts';

/** The one place rows and domain records turn into each other (and so the one place column names are spelled). */

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
