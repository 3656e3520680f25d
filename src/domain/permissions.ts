import { badRequest, modelNotFound, notFound } from '../errors.ts';
import { type Clock, newId } from '../ids.ts';
import type { Page, Permission, PermissionQuery, Store } from '../storage/store.ts';
import { actorOf, type Caller, writeMeta } from './auth.ts';

/**
 * Sharing a checkpoint with projects: grant, list, revoke. The rules of CONTRACT §1 live here;
 * the store makes each call atomic, the routes only translate the wire.
 */

/** Grants every project, or none: all must be active projects of the caller's organization. */
export async function grantCheckpointAccess(
  store: Store,
  clock: Clock,
  caller: Caller,
  checkpoint: string,
  projectIds: readonly string[],
): Promise<Permission[]> {
  const result = await store.grantPermissions({
    orgId: caller.orgId,
    checkpoint,
    projectIds: [...new Set(projectIds)],
    newPermissionId: newId.permission,
    now: () => clock.nowSeconds(),
    actor: actorOf(caller),
  });
  if (Array.isArray(result)) return result;
  switch (result.kind) {
    case 'checkpoint_not_found':
      throw modelNotFound(checkpoint);
    case 'project_not_found':
      throw badRequest(
        `Project \`${result.projectId}\` does not exist in this organization; no permission was granted.`,
        'project_ids',
        'project_not_found',
      );
    case 'project_archived':
      throw badRequest(
        `Project \`${result.projectId}\` is archived and cannot receive grants; no permission was granted.`,
        'project_ids',
        'project_archived',
      );
  }
}

export async function listCheckpointAccess(
  store: Store,
  orgId: string,
  checkpoint: string,
  query: PermissionQuery,
): Promise<Page<Permission>> {
  const page = await store.listPermissions(orgId, checkpoint, query);
  // A permission cannot outlive its checkpoint, so a non-empty page proves the checkpoint exists
  // and the common case costs one query; only an empty answer needs the second look.
  if (page !== 'unknown_cursor' && page.items.length > 0) return page;
  await requireCheckpoint(store, orgId, checkpoint);
  if (page === 'unknown_cursor') {
    throw badRequest(
      `\`after\` must be the id of a permission of this checkpoint${query.projectId === undefined ? '' : ' and project'}; \`${query.after}\` is not.`,
      'after',
    );
  }
  return page;
}

export async function revokeCheckpointAccess(
  store: Store,
  clock: Clock,
  caller: Caller,
  checkpoint: string,
  permissionId: string,
): Promise<Permission> {
  const revoked = await store.revokePermission(caller.orgId, checkpoint, permissionId, writeMeta(caller, clock));
  if (revoked) return revoked;
  await requireCheckpoint(store, caller.orgId, checkpoint);
  throw notFound(`No permission \`${permissionId}\` exists on checkpoint \`${checkpoint}\`.`);
}

/** Unknown checkpoints and other organizations' answer alike (CONTRACT §1, §2). */
export async function requireCheckpoint(store: Store, orgId: string, checkpoint: string) {
  const found = await store.getCheckpoint(orgId, checkpoint);
  if (!found) throw modelNotFound(checkpoint);
  return found;
}
