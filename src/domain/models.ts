import { badRequest, modelNotFound } from '../errors.ts';
import type { Clock } from '../ids.ts';
import type { Checkpoint, Store } from '../storage/store.ts';
import { type Decision, decide, usableModels } from './access.ts';
import type { AccessService } from './access-service.ts';
import { type Caller, writeMeta } from './auth.ts';

/**
 * `/v1/models` and the gateway's batch check. With a project key, exactly what the project may use
 * (src/domain/access.ts); with an admin key, every model of the organization. Anything else —
 * unknown or not allowed alike — is OpenAI's 404 `model_not_found`: existence is never revealed.
 */

export type ModelEntry = { id: string; created: number; ownedBy: string };

/** Base models are nobody's: OpenAI's own models say `system` too. */
const BASE_OWNER = 'system';

const checkpointEntry = (checkpoint: Checkpoint): ModelEntry => ({
  id: checkpoint.name,
  created: checkpoint.createdAt,
  ownedBy: checkpoint.orgId,
});

/** Base models exist as long as the organization does: they carry its creation time. */
async function baseEntry(store: Store, caller: Caller, id: string): Promise<ModelEntry> {
  const org = await store.getOrganization(caller.orgId);
  return { id, created: org?.createdAt ?? 0, ownedBy: BASE_OWNER };
}

export async function listModels(access: AccessService, store: Store, caller: Caller): Promise<ModelEntry[]> {
  const base = await Promise.all(access.baseModels.map((id) => baseEntry(store, caller, id)));
  if (caller.kind === 'admin') {
    const checkpoints = await store.allCheckpoints(caller.orgId);
    const names = new Set(checkpoints.map((c) => c.name));
    return [...base.filter((m) => !names.has(m.id)), ...checkpoints.map(checkpointEntry)];
  }
  const project = await access.projectModels(caller, caller.projectId ?? '');
  if (!project) return [];
  const byId = new Map(base.map((m) => [m.id, m]));
  return usableModels(project, access.baseModels).map((model) =>
    model.checkpoint ? checkpointEntry(model.checkpoint) : (byId.get(model.id) as ModelEntry),
  );
}

export async function retrieveModel(
  access: AccessService,
  store: Store,
  caller: Caller,
  model: string,
): Promise<ModelEntry> {
  if (caller.kind === 'admin') {
    const checkpoint = await store.getCheckpoint(caller.orgId, model);
    if (checkpoint) return checkpointEntry(checkpoint);
    if (access.baseModelSet.has(model)) return baseEntry(store, caller, model);
    throw modelNotFound(model);
  }
  const project = await access.projectModels(caller, caller.projectId ?? '');
  // Whether an unshared checkpoint exists changes only the reason of a refusal, never the answer.
  if (!decide(project, model, access.baseModelSet, false).allowed || !project) throw modelNotFound(model);
  const checkpoint = project.owned.get(model) ?? project.shared.get(model);
  return checkpoint ? checkpointEntry(checkpoint) : baseEntry(store, caller, model);
}

/** Deletes a registered checkpoint and its permissions (OpenAI's "delete a fine-tuned model"). */
export async function deleteModel(
  access: AccessService,
  store: Store,
  clock: Clock,
  caller: Caller,
  model: string,
): Promise<void> {
  if (await store.deleteCheckpoint(caller.orgId, model, writeMeta(caller, clock))) return;
  if (access.baseModelSet.has(model)) {
    throw badRequest(
      `The model \`${model}\` is a base model of this server (FTSHARE_BASE_MODELS), not a fine-tune: it cannot be deleted.`,
      'model',
      'model_not_deletable',
    );
  }
  throw modelNotFound(model);
}

export type AccessCheck = { projectId: string; model: string };

/** One decision per check, in request order; an unknown project or model is an answer, not an error. */
export async function checkModelAccess(
  access: AccessService,
  store: Store,
  caller: Caller,
  checks: readonly AccessCheck[],
): Promise<Array<AccessCheck & Decision>> {
  const projects = new Map<string, Awaited<ReturnType<AccessService['projectModels']>>>();
  for (const projectId of new Set(checks.map((c) => c.projectId))) {
    projects.set(projectId, await access.projectModels(caller, projectId));
  }
  // Existence matters only where no grant applies: ask the store about those models alone, at once.
  const unknown = new Set<string>();
  for (const { projectId, model } of checks) {
    const project = projects.get(projectId);
    if (project && !project.owned.has(model) && !project.shared.has(model) && !access.baseModelSet.has(model)) {
      unknown.add(model);
    }
  }
  const existing = unknown.size === 0 ? new Set<string>() : await store.existingCheckpoints(caller.orgId, [...unknown]);
  return checks.map((check) => ({
    ...check,
    ...decide(projects.get(check.projectId), check.model, access.baseModelSet, existing.has(check.model)),
  }));
}
