/**
 * A reference model of who may use which model (CONTRACT §5a, §6), written from the contract for
 * the property tests and deliberately NOT from src/domain/access.ts: it collects every reason that
 * applies and lets the documented precedence pick one, where `decide()` walks a chain of ifs. The
 * two agreeing on random worlds is the point; importing `decide()` here would prove nothing.
 */

export type RefRule = { mode: 'allow_list' | 'deny_list'; ids: ReadonlySet<string> };

export type RefProject = { archived: boolean; rule: RefRule | null };

export type RefCheckpoint = {
  owner: string;
  /** Registration order (a later registration of the same name after a delete is later). */
  seq: number;
  /** The projects it is shared with. */
  grants: ReadonlySet<string>;
};

/** One organization as the contract describes it. */
export type RefWorld = {
  /** FTSHARE_BASE_MODELS in configuration order (repeats allowed: they count once). */
  baseModels: readonly string[];
  projects: ReadonlyMap<string, RefProject>;
  checkpoints: ReadonlyMap<string, RefCheckpoint>;
};

/** CONTRACT §6 and the README's list: refusals of the project, of the model, of the rule; then grants. */
export const PRECEDENCE = [
  'project_not_found',
  'project_archived',
  'model_not_found',
  'denied',
  'not_in_allow_list',
  'owner',
  'shared',
  'base',
  'not_shared',
] as const;

export type RefReason = (typeof PRECEDENCE)[number];

const ALLOWING: ReadonlySet<RefReason> = new Set(['owner', 'shared', 'base']);

export type RefDecision = { allowed: boolean; reason: RefReason };

/** Every reason that applies to (`projectId`, `model`), in no particular order. */
export function applicableReasons(world: RefWorld, projectId: string, model: string): Set<RefReason> {
  const reasons = new Set<RefReason>();
  const project = world.projects.get(projectId);
  if (!project) {
    reasons.add('project_not_found');
    return reasons; // nothing else can be said of a project that does not exist
  }
  const checkpoint = world.checkpoints.get(model);
  const isBase = world.baseModels.includes(model);
  if (project.archived) reasons.add('project_archived');
  if (!checkpoint && !isBase) reasons.add('model_not_found');
  if (project.rule?.mode === 'deny_list' && project.rule.ids.has(model)) reasons.add('denied');
  if (project.rule?.mode === 'allow_list' && !project.rule.ids.has(model)) reasons.add('not_in_allow_list');
  if (checkpoint?.owner === projectId) reasons.add('owner');
  if (checkpoint?.grants.has(projectId)) reasons.add('shared');
  if (isBase) reasons.add('base');
  if (checkpoint && checkpoint.owner !== projectId && !checkpoint.grants.has(projectId)) reasons.add('not_shared');
  return reasons;
}

export function referenceDecision(world: RefWorld, projectId: string, model: string): RefDecision {
  const reasons = applicableReasons(world, projectId, model);
  const reason = PRECEDENCE.find((r) => reasons.has(r));
  if (reason === undefined) throw new Error(`no reason applies to ${projectId} / ${model}`);
  return { allowed: ALLOWING.has(reason), reason };
}

/** A model as `/v1/models` should list it: `owned_by` says whether it is a checkpoint or a base model. */
export type RefModel = { id: string; ownedBy: 'organization' | 'system' };

/**
 * What `GET /v1/models` lists for a project key: the base models it may use (configuration order),
 * then the checkpoints it may use as owner, then as grantee (each in registration order), each once.
 */
export function referenceModels(world: RefWorld, projectId: string): RefModel[] {
  const byReason = (reason: RefReason) =>
    [...world.checkpoints.entries()]
      .sort(([, a], [, b]) => a.seq - b.seq)
      .filter(([name]) => referenceDecision(world, projectId, name).reason === reason)
      .map(([name]): RefModel => ({ id: name, ownedBy: 'organization' }));
  const base = [...new Set(world.baseModels)]
    .filter((id) => referenceDecision(world, projectId, id).reason === 'base')
    .map((id): RefModel => ({ id, ownedBy: 'system' }));
  return [...base, ...byReason('owner'), ...byReason('shared')];
}

/** What an admin key lists: base models no checkpoint shadows, then every checkpoint (registration order). */
export function referenceAdminModels(world: RefWorld): string[] {
  const checkpoints = [...world.checkpoints.entries()].sort(([, a], [, b]) => a.seq - b.seq).map(([name]) => name);
  return [...new Set(world.baseModels)].filter((id) => !world.checkpoints.has(id)).concat(checkpoints);
}

/**
 * fast-check settings every property test uses: a fixed seed in CI (reproducible runs), a fresh one
 * elsewhere (more worlds over time). FTSHARE_PROPERTY_SEED replays a seed; fast-check prints the
 * seed and the shrunk counterexample's path when a run fails.
 */
export function propertySettings(numRuns: number): { seed: number; numRuns: number; includeErrorInReport: true } {
  const fixed = process.env.FTSHARE_PROPERTY_SEED;
  const seed =
    fixed !== undefined && fixed !== ''
      ? Number(fixed)
      : process.env.CI === 'true'
        ? 42
        : (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0;
  return { seed, numRuns, includeErrorInReport: true };
}
