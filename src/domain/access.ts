import type { Checkpoint, ModelRule, ProjectAccessData } from '../storage/store.ts';

/**
 * Who may use which model: ONE decision, behind `GET /v1/models`, `GET /v1/models/{model}` and
 * `POST /v1/organization/model_access` alike. A project may use
 *   (1) the configured base models, (2) the checkpoints it owns, (3) the checkpoints shared with it,
 * then its model permissions filter that set: an allow list keeps only its ids, a deny list removes
 * its ids (even granted ones). An archived project may use nothing. Pure: no I/O, no clock.
 */

/**
 * Why a project may or may not use a model. When several apply, the first in this order wins:
 * the project before the model, refusals before grants.
 */
export const ACCESS_REASONS = [
  'project_not_found', // no such project in the organization
  'project_archived', // the project is archived: it may use nothing
  'model_not_found', // neither a base model nor a registered checkpoint of the organization
  'denied', // on the project's deny list
  'not_in_allow_list', // the project has an allow list, and the model is not on it
  'owner', // allowed: the project owns the checkpoint
  'shared', // allowed: the checkpoint is shared with the project
  'base', // allowed: a configured base model
  'not_shared', // a checkpoint of the organization that is neither owned by nor shared with the project
] as const;

export type AccessReason = (typeof ACCESS_REASONS)[number];

export type Decision = { allowed: boolean; reason: AccessReason };

/** A project's access data, indexed for decisions (built once per cached load). */
export type ProjectModels = {
  archived: boolean;
  owned: ReadonlyMap<string, Checkpoint>;
  shared: ReadonlyMap<string, Checkpoint>;
  rule: { mode: ModelRule['mode']; ids: ReadonlySet<string> } | null;
};

export function indexProjectAccess(data: ProjectAccessData): ProjectModels {
  return {
    archived: data.archived,
    owned: new Map(data.owned.map((c) => [c.name, c])),
    shared: new Map(data.shared.map((c) => [c.name, c])),
    rule: data.rule && { mode: data.rule.mode, ids: new Set(data.rule.modelIds) },
  };
}

/**
 * The decision for `project` (undefined: it does not exist) and `model`. `exists` says whether
 * the model is a registered checkpoint of the organization; it only ever chooses between two
 * refusal reasons (`model_not_found` or another), never whether the answer is allowed.
 */
export function decide(
  project: ProjectModels | undefined,
  model: string,
  baseModels: ReadonlySet<string>,
  exists: boolean,
): Decision {
  if (!project) return { allowed: false, reason: 'project_not_found' };
  if (project.archived) return { allowed: false, reason: 'project_archived' };
  const grant: AccessReason | null = project.owned.has(model)
    ? 'owner'
    : project.shared.has(model)
      ? 'shared'
      : baseModels.has(model)
        ? 'base'
        : null;
  if (grant === null && !exists) return { allowed: false, reason: 'model_not_found' };
  const rule = project.rule;
  if (rule?.mode === 'deny_list' && rule.ids.has(model)) return { allowed: false, reason: 'denied' };
  if (rule?.mode === 'allow_list' && !rule.ids.has(model)) return { allowed: false, reason: 'not_in_allow_list' };
  if (grant !== null) return { allowed: true, reason: grant };
  return { allowed: false, reason: 'not_shared' };
}

/** A model a project may use: a checkpoint (owned or shared) or a base model (`checkpoint` null). */
export type UsableModel = { id: string; checkpoint: Checkpoint | null };

/**
 * Every model `project` may use, by asking `decide` of each candidate: base models first (in
 * configuration order), then the checkpoints it owns, then those shared with it (each in
 * registration order), each once.
 */
export function usableModels(project: ProjectModels, baseModels: readonly string[]): UsableModel[] {
  const base = new Set(baseModels);
  // A base model that is also a checkpoint of the project's is listed as the checkpoint.
  const candidates: UsableModel[] = [
    ...baseModels
      .filter((id) => !project.owned.has(id) && !project.shared.has(id))
      .map((id) => ({ id, checkpoint: null })),
    ...[...project.owned.values()].map((c) => ({ id: c.name, checkpoint: c })),
    ...[...project.shared.values()].map((c) => ({ id: c.name, checkpoint: c })),
  ];
  const seen = new Set<string>();
  return candidates.filter((candidate) => {
    if (seen.has(candidate.id)) return false;
    seen.add(candidate.id);
    return decide(project, candidate.id, base, candidate.checkpoint !== null).allowed;
  });
}
