import { badRequest, notFound } from '../errors.ts';
import { type Clock, newId } from '../ids.ts';
import type { Page, Project, ProjectQuery, ServiceAccount, Store } from '../storage/store.ts';
import { mintKey } from './keys.ts';

/** Projects of an organization, and the service accounts that give a project its API keys. */

const projectNotFound = (id: string) => notFound(`No project found with id \`${id}\`.`);

export async function createProject(
  store: Store,
  clock: Clock,
  orgId: string,
  input: { name: string; externalKeyId: string | null },
): Promise<Project> {
  const project: Project = {
    id: newId.project(),
    orgId,
    name: input.name,
    externalKeyId: input.externalKeyId,
    createdAt: clock.nowSeconds(),
    archivedAt: null,
  };
  await store.createProject(project);
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
  orgId: string,
  id: string,
  patch: { name?: string; externalKeyId?: string | null },
): Promise<Project> {
  const project = await store.updateProject(orgId, id, patch);
  if (!project) throw projectNotFound(id);
  return project;
}

export async function archiveProject(store: Store, clock: Clock, orgId: string, id: string): Promise<Project> {
  const project = await store.archiveProject(orgId, id, clock.nowSeconds());
  if (!project) throw projectNotFound(id);
  return project;
}

/**
 * A service account and, unless `withKey` is false (OpenAI's `create_service_account_only`), its
 * project key; the secret is returned here and never again.
 */
export async function createServiceAccount(
  store: Store,
  clock: Clock,
  orgId: string,
  projectId: string,
  name: string,
  withKey: boolean,
): Promise<{ account: ServiceAccount; key: { id: string; secret: string; createdAt: number } | null }> {
  const now = clock.nowSeconds();
  const account: ServiceAccount = { id: newId.serviceAccount(), orgId, projectId, name, createdAt: now };
  const minted = withKey ? mintKey('project') : null;
  const keyId = newId.apiKey();
  const outcome = await store.createServiceAccount(
    account,
    minted && {
      id: keyId,
      orgId,
      projectId,
      kind: 'project',
      name: 'Secret Key',
      hash: minted.hash,
      redacted: minted.redacted,
      createdAt: now,
      revokedAt: null,
    },
  );
  if (outcome === 'project_not_found') throw projectNotFound(projectId);
  if (outcome === 'project_archived') {
    throw badRequest(`Project \`${projectId}\` is archived; it cannot get new service accounts.`, 'project_id');
  }
  return { account, key: minted && { id: keyId, secret: minted.secret, createdAt: now } };
}
