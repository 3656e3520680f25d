import { badRequest, notFound } from '../errors.ts';
import { type Clock, newId } from '../ids.ts';
import type {
  ApiKey,
  Page,
  ServiceAccount,
  ServiceAccountOutcome,
  ServiceAccountQuery,
  ServiceAccountRole,
  Store,
} from '../storage/store.ts';
import { type Caller, writeMeta } from './auth.ts';
import { mintKey } from './keys.ts';
import { projectArchived, projectNotFound } from './projects.ts';

/**
 * Service accounts, and the project API keys that belong to them: how a project gets keys. Every
 * project key here belongs to a service account, so deleting one through the project-keys route
 * works (OpenAI refuses it for service-account keys; ftshare has no other kind).
 */

export type ProjectKey = ApiKey & { owner: ServiceAccount | null };

/** A minted project key: the secret is in this one answer and stored only as a hash. */
export type NewKey = { id: string; name: string; secret: string; createdAt: number };

const accountNotFound = (id: string) => notFound(`No service account found with id \`${id}\`.`);

/** A store outcome's refusal as the API's error, or the value. */
function settle<T>(outcome: ServiceAccountOutcome<T>, projectId: string, accountId: string, what: string): T {
  if (outcome === 'project_not_found') throw projectNotFound(projectId);
  if (outcome === 'project_archived') throw projectArchived(projectId, what);
  if (outcome === 'not_found') throw accountNotFound(accountId);
  return outcome;
}

function projectKeyRecord(
  caller: Caller,
  projectId: string,
  accountId: string,
  input: { name: string; expiresInSeconds: number | null },
  now: number,
) {
  const minted = mintKey('project');
  const key = {
    id: newId.apiKey(),
    orgId: caller.orgId,
    projectId,
    kind: 'project' as const,
    name: input.name,
    hash: minted.hash,
    redacted: minted.redacted,
    createdAt: now,
    revokedAt: null,
    serviceAccountId: accountId,
    expiresAt: input.expiresInSeconds === null ? null : now + input.expiresInSeconds,
    lastUsedAt: null,
  };
  return { key, created: { id: key.id, name: input.name, secret: minted.secret, createdAt: now } };
}

/**
 * A service account and, unless `withKey` is false (OpenAI's `create_service_account_only`, role
 * `none`), its first project key.
 */
export async function createServiceAccount(
  store: Store,
  clock: Clock,
  caller: Caller,
  projectId: string,
  input: { name: string; withKey: boolean; expiresInSeconds: number | null },
): Promise<{ account: ServiceAccount; key: NewKey | null }> {
  const { name, withKey } = input;
  const meta = writeMeta(caller, clock);
  const account: ServiceAccount = {
    id: newId.serviceAccount(),
    orgId: caller.orgId,
    projectId,
    name,
    createdAt: meta.now,
    role: withKey ? 'member' : 'none',
  };
  const minted = withKey
    ? projectKeyRecord(
        caller,
        projectId,
        account.id,
        { name: 'Secret Key', expiresInSeconds: input.expiresInSeconds },
        meta.now,
      )
    : null;
  const outcome = await store.createServiceAccount(account, minted?.key ?? null, meta);
  settle(outcome, projectId, account.id, 'it cannot get new service accounts');
  return { account, key: minted?.created ?? null };
}

export async function listServiceAccounts(
  store: Store,
  orgId: string,
  projectId: string,
  query: ServiceAccountQuery,
): Promise<Page<ServiceAccount>> {
  const page = await store.listServiceAccounts(orgId, projectId, query);
  if (page === 'project_not_found') throw projectNotFound(projectId);
  if (page === 'unknown_cursor') {
    throw badRequest(`\`after\` must be a service account of this project; \`${query.after}\` is not.`, 'after');
  }
  return page;
}

export async function getServiceAccount(
  store: Store,
  orgId: string,
  projectId: string,
  id: string,
): Promise<ServiceAccount> {
  const account = await store.getServiceAccount(orgId, projectId, id);
  if (!account) throw accountNotFound(id);
  return account;
}

export async function updateServiceAccount(
  store: Store,
  clock: Clock,
  caller: Caller,
  projectId: string,
  id: string,
  patch: { name?: string; role?: ServiceAccountRole },
): Promise<ServiceAccount> {
  const outcome = await store.updateServiceAccount(caller.orgId, projectId, id, patch, writeMeta(caller, clock));
  return settle(outcome, projectId, id, 'its service accounts cannot change');
}

/** Deletes the account and its keys: they answer 401 from the next request on. */
export async function deleteServiceAccount(
  store: Store,
  clock: Clock,
  caller: Caller,
  projectId: string,
  id: string,
): Promise<void> {
  const outcome = await store.deleteServiceAccount(caller.orgId, projectId, id, writeMeta(caller, clock));
  settle(outcome, projectId, id, '');
}

/** Another key for an existing service account. `scopes` are recorded in the audit log, not enforced. */
export async function addServiceAccountKey(
  store: Store,
  clock: Clock,
  caller: Caller,
  projectId: string,
  accountId: string,
  input: { name: string; scopes: readonly string[]; expiresInSeconds: number | null },
): Promise<NewKey> {
  const meta = writeMeta(caller, clock);
  const { key, created } = projectKeyRecord(caller, projectId, accountId, input, meta.now);
  const outcome = await store.addServiceAccountKey(key, input.scopes, meta);
  settle(outcome, projectId, accountId, 'it cannot get new keys');
  return created;
}

const keyNotFound = (id: string) => notFound(`No API key found with id \`${id}\` in this project.`);

export async function listProjectKeys(
  store: Store,
  orgId: string,
  projectId: string,
  query: ServiceAccountQuery,
): Promise<Page<ProjectKey>> {
  const page = await store.listProjectKeys(orgId, projectId, query);
  if (page === 'project_not_found') throw projectNotFound(projectId);
  if (page === 'unknown_cursor') {
    throw badRequest(`\`after\` must be an API key of this project; \`${query.after}\` is not.`, 'after');
  }
  return page;
}

export async function getProjectKey(store: Store, orgId: string, projectId: string, id: string): Promise<ProjectKey> {
  const key = await store.getProjectKey(orgId, projectId, id);
  if (!key) throw keyNotFound(id);
  return key;
}

/** openai 7.x: a new expiry (seconds from now; null: none) and/or requested scopes (audit only). */
export async function updateProjectKey(
  store: Store,
  clock: Clock,
  caller: Caller,
  projectId: string,
  id: string,
  input: { expiresInSeconds?: number | null; scopes?: readonly string[] },
): Promise<ProjectKey> {
  const meta = writeMeta(caller, clock);
  const patch = {
    ...(input.expiresInSeconds === undefined
      ? {}
      : { expiresAt: input.expiresInSeconds === null ? null : meta.now + input.expiresInSeconds }),
    ...(input.scopes === undefined ? {} : { scopes: input.scopes }),
  };
  const key = await store.updateProjectKey(caller.orgId, projectId, id, patch, meta);
  if (!key) throw keyNotFound(id);
  return key;
}

export async function deleteProjectKey(
  store: Store,
  clock: Clock,
  caller: Caller,
  projectId: string,
  id: string,
): Promise<void> {
  if (!(await store.deleteProjectKey(caller.orgId, projectId, id, writeMeta(caller, clock)))) throw keyNotFound(id);
}
