import type { Static } from '@sinclair/typebox';
import type { Checkpoint, Page, Permission, Project } from '../storage/store.ts';
import type * as S from './schemas.ts';

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
