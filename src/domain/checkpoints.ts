import { badRequest, modelNotFound } from '../errors.ts';
import type { Clock } from '../ids.ts';
import type { Checkpoint, CheckpointQuery, Page, Store } from '../storage/store.ts';
import { type Caller, writeMeta } from './auth.ts';

/** The checkpoint registry (ftshare extension): what permissions attach to. */

export async function registerCheckpoint(
  store: Store,
  clock: Clock,
  caller: Caller,
  name: string,
  projectId: string,
): Promise<Checkpoint> {
  const meta = writeMeta(caller, clock);
  const result = await store.registerCheckpoint({ orgId: caller.orgId, name, projectId, createdAt: meta.now }, meta);
  switch (result.kind) {
    case 'registered':
      return result.checkpoint;
    case 'owned_by_other_project':
      throw badRequest(
        `Checkpoint \`${name}\` is already registered to project \`${result.checkpoint.projectId}\`.`,
        'fine_tuned_model_checkpoint',
        'checkpoint_exists',
      );
    case 'project_not_found':
      throw badRequest(
        `Project \`${projectId}\` does not exist in this organization.`,
        'project_id',
        'project_not_found',
      );
    case 'project_archived':
      throw badRequest(
        `Project \`${projectId}\` is archived and cannot own new checkpoints.`,
        'project_id',
        'project_archived',
      );
  }
}

export async function listCheckpoints(store: Store, orgId: string, query: CheckpointQuery): Promise<Page<Checkpoint>> {
  const page = await store.listCheckpoints(orgId, query);
  if (page === 'unknown_cursor') {
    throw badRequest(`\`after\` must be a checkpoint of this organization; \`${query.after}\` is not.`, 'after');
  }
  return page;
}

export async function deleteCheckpoint(store: Store, clock: Clock, caller: Caller, name: string): Promise<void> {
  if (!(await store.deleteCheckpoint(caller.orgId, name, writeMeta(caller, clock)))) throw modelNotFound(name);
}
