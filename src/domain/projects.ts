import { badRequest, notFound } from '../errors.ts';
import { type Clock, newId } from '../ids.ts';
import type { Page, Project, ProjectQuery, Store } from '../storage/store.ts';
import { type Caller, writeMeta } from './auth.ts';

/** Projects of an organization: created, renamed, archived; never deleted. */

export const projectNotFound = (id: string) => notFound(`No project found with id \`${id}\`.`);

export const projectArchived = (id: string, what: string) =>
  badRequest(`Project \`${id}\` is archived; ${what}.`, 'project_id', 'project_archived');

export async function createProject(
  store: Store,
  clock: Clock,
  caller: Caller,
  input: { name: string; externalKeyId: string | null },
): Promise<Project> {
  const meta = writeMeta(caller, clock);
  const project: Project = {
    id: newId.project(),
    orgId: caller.orgId,
    name: input.name,
    externalKeyId: input.externalKeyId,
    createdAt: meta.now,
    archivedAt: null,
  };
  await store.createProject(project, meta);
  return project;
}

export async function getProject(store: Store, orgId: string, id: string): Promise<Project> {
  const project = await store.getProject(orgId, id);
  if (!project) throw projectNotFound(id);
  return project;
}

export async function listProjects(store: Store, orgId: string, query: ProjectQuery): Promise<Page<Project>> {
  const page = await store.listProjects(orgId, query);
  if (page === 'unknown_cursor') {
    throw badRequest(`\`after\` must be a project id of this organization; \`${query.after}\` is not.`, 'after');
  }
  return page;
}

export async function updateProject(
  store: Store,
  clock: Clock,
  caller: Caller,
  id: string,
  patch: { name?: string; externalKeyId?: string | null },
): Promise<Project> {
  const project = await store.updateProject(caller.orgId, id, patch, writeMeta(caller, clock));
  if (!project) throw projectNotFound(id);
  return project;
}

export async function archiveProject(store: Store, clock: Clock, caller: Caller, id: string): Promise<Project> {
  const project = await store.archiveProject(caller.orgId, id, writeMeta(caller, clock));
  if (!project) throw projectNotFound(id);
  return project;
}
