import type { Static } from '@sinclair/typebox';
import { ownerUserId } from '../domain/auth.ts';
import type { ModelEntry } from '../domain/models.ts';
import type { NewKey, ProjectKey } from '../domain/service-accounts.ts';
import type {
  ApiKey,
  AuditEvent,
  Checkpoint,
  ModelRule,
  Page,
  Permission,
  Project,
  ServiceAccount,
} from '../storage/store.ts';
import type * as S from './schemas.ts';
import type * as A from './schemas-audit.ts';
import type * as K from './schemas-keys.ts';
import type * as M from './schemas-models.ts';

/** Domain records to wire objects: one mapper per object, and the list envelope for every page. */

export const permissionToWire = (p: Permission): Static<typeof S.FineTuningCheckpointPermission> => ({
  object: 'checkpoint.permission',
  id: p.id,
  created_at: p.createdAt,
  project_id: p.projectId,
});

export const projectToWire = (p: Project): Static<typeof S.Project> => ({
  id: p.id,
  object: 'organization.project',
  name: p.name,
  created_at: p.createdAt,
  archived_at: p.archivedAt,
  status: p.archivedAt === null ? 'active' : 'archived',
  external_key_id: p.externalKeyId,
});

export const checkpointToWire = (c: Checkpoint): Static<typeof S.FineTuningCheckpoint> => ({
  object: 'fine_tuning.checkpoint',
  id: c.name,
  project_id: c.projectId,
  created_at: c.createdAt,
});

/** `first_id`/`last_id` name the page's own ends (null when empty): the SDK pages with `after=last_id`. */
export function listToWire<T, W extends { id: string }>(page: Page<T>, toWire: (item: T) => W) {
  const data = page.items.map(toWire);
  return {
    object: 'list' as const,
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: page.hasMore,
  };
}

// Keys, service accounts, models, audit events

export const adminKeyToWire = (key: ApiKey, orgCreatedAt: number): Static<typeof K.AdminApiKey> => ({
  object: 'organization.admin_api_key',
  id: key.id,
  name: key.name,
  redacted_value: key.redacted,
  created_at: key.createdAt,
  expires_at: key.expiresAt,
  last_used_at: key.lastUsedAt,
  owner: {
    type: 'user',
    object: 'organization.user',
    id: ownerUserId(key.orgId),
    name: 'Organization owner',
    created_at: orgCreatedAt,
    role: 'owner',
  },
});

export const serviceAccountToWire = (account: ServiceAccount): Static<typeof K.ProjectServiceAccount> => ({
  object: 'organization.project.service_account',
  id: account.id,
  name: account.name,
  role: account.role,
  created_at: account.createdAt,
});

export const newKeyToWire = (key: NewKey) => ({
  object: 'organization.project.service_account.api_key' as const,
  value: key.secret,
  name: key.name,
  created_at: key.createdAt,
  id: key.id,
});

/** `owner_project_access`: whether the key's owner can act for the project now. */
export const projectKeyToWire = (key: ProjectKey, projectActive: boolean): Static<typeof K.ProjectApiKey> => ({
  object: 'organization.project.api_key',
  redacted_value: key.redacted,
  name: key.name,
  created_at: key.createdAt,
  last_used_at: key.lastUsedAt,
  expires_at: key.expiresAt,
  id: key.id,
  owner_project_access: projectActive ? 'active' : 'inactive',
  owner: {
    type: 'service_account',
    service_account: key.owner
      ? { id: key.owner.id, name: key.owner.name, created_at: key.owner.createdAt, role: key.owner.role }
      : { id: key.serviceAccountId ?? '', name: '', created_at: key.createdAt, role: 'member' },
  },
});

export const modelToWire = (model: ModelEntry): Static<typeof M.Model> => ({
  id: model.id,
  object: 'model',
  created: model.created,
  owned_by: model.ownedBy,
});

export const modelRuleToWire = (rule: ModelRule): Static<typeof M.ProjectModelPermissions> => ({
  object: 'project.model_permissions',
  mode: rule.mode,
  model_ids: rule.modelIds,
});

/** OpenAI's audit log object: the event's own payload sits under a key named after its type. */
export function auditEventToWire(event: AuditEvent): Static<typeof A.AuditLog> {
  const actor = event.actor;
  return {
    id: event.id,
    type: event.type,
    effective_at: event.effectiveAt,
    ...(event.projectId === null ? {} : { project: { id: event.projectId, name: event.projectName } }),
    actor:
      actor === null
        ? null
        : {
            type: 'api_key',
            api_key: {
              id: actor.keyId,
              type: actor.type,
              ...(actor.type === 'user'
                ? { user: { id: actor.principalId } }
                : { service_account: { id: actor.principalId } }),
            },
          },
    [event.type]: event.payload,
  };
}
