import { hashKey, redactKey } from '../domain/keys.ts';
import type { Organization, OrgState } from '../storage/store.ts';
import type { StateDocumentWire } from './schemas-state.ts';

/** The state document's records (snake_case, as on the wire) to and from the store's records. */

type Part = Partial<Omit<OrgState, 'organization'>>;
type Records = Omit<StateDocumentWire, 'ftshare_state' | 'organization'>;

export const organizationToWire = (org: Organization) => ({ id: org.id, name: org.name, created_at: org.createdAt });

export function stateToWire(part: Part): Records {
  return {
    ...(part.projects && {
      projects: part.projects.map((p) => ({
        id: p.id,
        name: p.name,
        external_key_id: p.externalKeyId,
        created_at: p.createdAt,
        archived_at: p.archivedAt,
      })),
    }),
    ...(part.serviceAccounts && {
      service_accounts: part.serviceAccounts.map((a) => ({
        id: a.id,
        project_id: a.projectId,
        name: a.name,
        role: a.role,
        created_at: a.createdAt,
        deleted_at: a.deletedAt,
      })),
    }),
    ...(part.apiKeys && {
      api_keys: part.apiKeys.map((k) => ({
        id: k.id,
        kind: k.kind,
        project_id: k.projectId,
        service_account_id: k.serviceAccountId,
        name: k.name,
        hash: k.hash,
        redacted_value: k.redacted,
        created_at: k.createdAt,
        expires_at: k.expiresAt,
        last_used_at: k.lastUsedAt,
        revoked_at: k.revokedAt,
      })),
    }),
    ...(part.checkpoints && {
      checkpoints: part.checkpoints.map((c) => ({ name: c.name, project_id: c.projectId, created_at: c.createdAt })),
    }),
    ...(part.permissions && {
      permissions: part.permissions.map((p) => ({
        id: p.id,
        checkpoint: p.checkpoint,
        project_id: p.projectId,
        created_at: p.createdAt,
      })),
    }),
    ...(part.modelRules && {
      model_permissions: part.modelRules.map((r) => ({
        project_id: r.projectId,
        mode: r.mode,
        model_ids: r.modelIds,
        updated_at: r.updatedAt,
      })),
    }),
    ...(part.auditEvents && {
      audit_events: part.auditEvents.map((e) => ({
        id: e.id,
        type: e.type,
        effective_at: e.effectiveAt,
        project_id: e.projectId,
        resource_id: e.resourceId,
        actor: e.actor && { key_id: e.actor.keyId, type: e.actor.type, principal_id: e.actor.principalId },
        payload: e.payload,
      })),
    }),
  };
}

/**
 * A document's records for the store, into organization `orgId` whatever they say. A key may come
 * with its secret instead of its hash (seed files): only the hash and a redacted form are kept.
 * Returns the problem, with the field at fault, when a key has neither or both.
 */
export function stateFromWire(doc: Records, orgId: string): { state: Part } | { problem: string; param: string } {
  const apiKeys: OrgState['apiKeys'] = [];
  for (const k of doc.api_keys ?? []) {
    if ((k.hash === undefined) === (k.secret === undefined)) {
      return { problem: `API key \`${k.id}\` needs exactly one of \`hash\` and \`secret\`.`, param: 'api_keys' };
    }
    const hash = k.hash ?? hashKey(k.secret as string);
    apiKeys.push({
      id: k.id,
      orgId,
      projectId: k.project_id,
      kind: k.kind,
      name: k.name,
      hash,
      redacted: k.redacted_value ?? (k.secret === undefined ? '****' : redactKey(k.secret)),
      createdAt: k.created_at,
      revokedAt: k.revoked_at,
      serviceAccountId: k.service_account_id,
      expiresAt: k.expires_at,
      lastUsedAt: k.last_used_at,
    });
  }
  return {
    state: {
      projects: (doc.projects ?? []).map((p) => ({
        id: p.id,
        orgId,
        name: p.name,
        externalKeyId: p.external_key_id,
        createdAt: p.created_at,
        archivedAt: p.archived_at,
      })),
      serviceAccounts: (doc.service_accounts ?? []).map((a) => ({
        id: a.id,
        orgId,
        projectId: a.project_id,
        name: a.name,
        role: a.role,
        createdAt: a.created_at,
        deletedAt: a.deleted_at,
      })),
      apiKeys,
      checkpoints: (doc.checkpoints ?? []).map((c) => ({
        orgId,
        name: c.name,
        projectId: c.project_id,
        createdAt: c.created_at,
      })),
      permissions: (doc.permissions ?? []).map((p) => ({
        id: p.id,
        orgId,
        checkpoint: p.checkpoint,
        projectId: p.project_id,
        createdAt: p.created_at,
      })),
      modelRules: (doc.model_permissions ?? []).map((r) => ({
        projectId: r.project_id,
        mode: r.mode,
        modelIds: [...new Set(r.model_ids)],
        updatedAt: r.updated_at,
      })),
      auditEvents: (doc.audit_events ?? []).map((e) => ({
        id: e.id,
        orgId,
        type: e.type as OrgState['auditEvents'][number]['type'],
        effectiveAt: e.effective_at,
        projectId: e.project_id,
        projectName: null,
        resourceId: e.resource_id,
        actor: e.actor && { keyId: e.actor.key_id, type: e.actor.type, principalId: e.actor.principal_id },
        payload: e.payload,
      })),
    },
  };
}
