import type { Clock } from '../ids.ts';
import type { ModelRule, Store } from '../storage/store.ts';
import { type Caller, writeMeta } from './auth.ts';
import { projectNotFound } from './projects.ts';

/**
 * A project's model permissions (OpenAI's allow/deny list), which filter what it may use
 * (src/domain/access.ts). None set reads as a deny list of nothing.
 */

export const NO_RULE: ModelRule = { mode: 'deny_list', modelIds: [] };

export async function getModelRule(store: Store, orgId: string, projectId: string): Promise<ModelRule> {
  const rule = await store.getModelRule(orgId, projectId);
  if (rule === 'project_not_found') throw projectNotFound(projectId);
  return rule ?? NO_RULE;
}

/** Replaces the whole rule; repeated ids count once, in first-seen order. */
export async function setModelRule(
  store: Store,
  clock: Clock,
  caller: Caller,
  projectId: string,
  rule: ModelRule,
): Promise<ModelRule> {
  const normalized: ModelRule = { mode: rule.mode, modelIds: [...new Set(rule.modelIds)] };
  if (!(await store.setModelRule(caller.orgId, projectId, normalized, writeMeta(caller, clock)))) {
    throw projectNotFound(projectId);
  }
  return normalized;
}

/** Removes the rule (nothing blocked any more); removing none is not an error. */
export async function deleteModelRule(store: Store, clock: Clock, caller: Caller, projectId: string): Promise<void> {
  if (!(await store.deleteModelRule(caller.orgId, projectId, writeMeta(caller, clock)))) {
    throw projectNotFound(projectId);
  }
}
